// Production sign-in: the group's OpenID Connect provider (authorization code with PKCE).
// Not built yet (issue #24, a later step); until then it is never offered. What it will do
// is written in docs/console.md ("Sign-in"): discovery from the issuer, a code verifier
// kept in sessionStorage only until the redirect comes back, the code exchanged for the
// issuer's ES256 access token, which the services verify; no refresh token kept.
import type { OidcSignIn, Session } from "./types";

export const oidcSignIn: OidcSignIn = {
  kind: "oidc",
  async available() {
    return false;
  },
  async begin(): Promise<void> {
    throw new Error("OpenID Connect sign-in is not configured");
  },
  async complete(): Promise<Session> {
    throw new Error("OpenID Connect sign-in is not configured");
  },
};
