// Production sign-in: the group's OpenID Connect provider, authorization code with PKCE
// (S256), as a public client (docs/console.md, "Sign-in"). The gateway names the provider at
// run time (GET /console/config: wuye-gateway --oidc_issuer, --oidc_client_id,
// --oidc_scopes), so one built console serves every group.
//   begin:    discovery, then a code verifier, state and nonce kept in sessionStorage (one
//             key) only until the redirect comes back, then off to the authorization endpoint.
//   complete: the pending sign-in is taken out of storage first (used once, whatever
//             happens), the answer checked (state, error), the code exchanged at the token
//             endpoint; the Session is the access token's claims (the issuer's ES256 token,
//             which the services verify). No refresh token is kept: at expiry, sign in again.
// The rules themselves are pure, in oidc-rules.ts and pkce.ts.
import type { OidcSignIn, Session } from "./types";
import {
  CALLBACK_PATH,
  OidcError,
  PENDING_KEY,
  accessTokenOf,
  authorizeUrl,
  callbackCode,
  checkDiscovery,
  checkIdToken,
  discoveryUrl,
  endSessionUrl,
  parseConfig,
  parsePending,
  safeReturnTo,
  sessionFromAccessToken,
  tokenRefusal,
  tokenRequestBody,
  type Discovery,
  type OidcConfig,
  type Pending,
} from "./oidc-rules";
import { randomToken, s256 } from "./pkce";

let config: Promise<OidcConfig | null> | null = null;
const discoveries = new Map<string, Promise<Discovery>>();

function loadConfig(): Promise<OidcConfig | null> {
  config ??= fetch("/console/config", { method: "GET", cache: "no-store" })
    .then(async (r) => (r.ok ? parseConfig(await r.json()) : null))
    .catch(() => null);
  return config;
}

async function required(): Promise<OidcConfig> {
  const c = await loadConfig();
  if (!c) throw new OidcError("config");
  return c;
}

async function fetchJson(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { cache: "no-store", credentials: "omit", ...init });
  } catch {
    throw new OidcError("network", new URL(url).origin);
  }
}

function discover(issuer: string): Promise<Discovery> {
  let d = discoveries.get(issuer);
  if (!d) {
    d = fetchJson(discoveryUrl(issuer)).then(async (r) => {
      if (!r.ok) throw new OidcError("discovery", `HTTP ${r.status}`);
      return checkDiscovery(await r.json().catch(() => null), issuer);
    });
    d.catch(() => discoveries.delete(issuer));
    discoveries.set(issuer, d);
  }
  return d;
}

function redirectUri(): string {
  return `${window.location.origin}${CALLBACK_PATH}`;
}

// The pending sign-in, removed from storage as it is read: a redirect back is used once.
function takePending(): Pending | null {
  const stored = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  return parsePending(stored, Date.now());
}

export const oidcSignIn: OidcSignIn & {
  /** Where signing out goes after the console has forgotten the session, or null. */
  signOutUrl(): Promise<string | null>;
} = {
  kind: "oidc",
  async available() {
    return (await loadConfig()) !== null;
  },
  async begin(returnTo: string): Promise<void> {
    const c = await required();
    const d = await discover(c.issuer);
    const pending: Pending = {
      issuer: c.issuer,
      state: randomToken(16),
      nonce: randomToken(16),
      verifier: randomToken(32),
      returnTo: safeReturnTo(returnTo),
      at: Date.now(),
    };
    const challenge = await s256(pending.verifier);
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    window.location.assign(authorizeUrl(d, c, { state: pending.state, nonce: pending.nonce, challenge, redirectUri: redirectUri() }));
  },
  async complete(callbackUrl: string): Promise<{ session: Session; returnTo: string }> {
    const pending = takePending();
    const code = callbackCode(callbackUrl, pending);
    const p = pending!;
    const c = await required();
    if (c.issuer !== p.issuer) throw new OidcError("provider", "the provider changed during the sign-in");
    const d = await discover(c.issuer);
    const r = await fetchJson(d.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: tokenRequestBody(code, p.verifier, redirectUri(), c.clientId),
    });
    const body = (await r.json().catch(() => null)) as unknown;
    if (!r.ok) throw tokenRefusal(r.status, body);
    const { accessToken, idToken } = accessTokenOf(body);
    checkIdToken(idToken, { issuer: c.issuer, clientId: c.clientId, nonce: p.nonce });
    return { session: sessionFromAccessToken(accessToken, Date.now()), returnTo: p.returnTo };
  },
  async signOutUrl(): Promise<string | null> {
    const c = await loadConfig();
    if (!c) return null;
    try {
      return endSessionUrl(await discover(c.issuer), c.clientId, `${window.location.origin}/sign-in`);
    } catch {
      return null;
    }
  },
};
