// Sign-in (docs/console.md, "Sign-in"). Two ways, one result: a Session.
//   - LocalSignIn: the gateway's local sign-in (--local_sign_in_file), for the demo and the
//     tests: a list of the demo group's staff, and a token minted for the one picked.
//   - OidcSignIn (auth/oidc.ts): the group's OpenID Connect provider, authorization code
//     with PKCE; the issuer's ES256 access token is what the services verify.
// The sign-in page asks each SignIn whether it is available and shows those that are.

import type { Role } from "../roles";

/** Who is signed in. Only `token` is kept (sessionStorage); the rest is read back from it. */
export interface Session {
  token: string;
  /** RFC 3339; the console signs out at this time. */
  expireTime: string;
  groupId: string;
  staffId: string;
  /** The person's name: held in memory only, never stored. */
  name: string;
  roles: Role[];
  /** Estate ids the token names; ["*"] for every estate of the group. */
  estateIds: string[];
}

export interface SignIn {
  readonly kind: "local" | "oidc";
  /** Whether this way of signing in is offered here (asked once, on the sign-in page). */
  available(): Promise<boolean>;
}

export interface LocalPerson {
  id: string;
  name: string;
  roles: Role[];
  estates: { id: string; name: string }[];
}

export interface LocalGroup {
  id: string;
  name: string;
  people: LocalPerson[];
}

export interface LocalSignIn extends SignIn {
  readonly kind: "local";
  people(): Promise<LocalGroup[]>;
  signIn(staffId: string): Promise<Session>;
}

/** Production sign-in (auth/oidc.ts; docs/console.md, "Sign-in"). */
export interface OidcSignIn extends SignIn {
  readonly kind: "oidc";
  /** Sends the browser to the provider (authorization code + PKCE, S256). */
  begin(returnTo: string): Promise<void>;
  /**
   * On the redirect back: exchanges the code for the access token; the Session it gives and
   * the console's path to go on to. Throws an OidcError (oidc-rules.ts), having stored nothing.
   */
  complete(callbackUrl: string): Promise<{ session: Session; returnTo: string }>;
}
