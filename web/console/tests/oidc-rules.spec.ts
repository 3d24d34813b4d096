// The OpenID Connect sign-in's pure rules (src/auth/pkce.ts, src/auth/oidc-rules.ts), no
// browser: PKCE against RFC 7636's own example, the discovery document's checks, the
// authorization request, the redirect back (state, errors), the token answer, and the
// Session an access token gives as the services read it (shared/auth.cc).
import { expect, test } from "@playwright/test";
import { webcrypto } from "node:crypto";
import { base64url, randomToken, s256, validVerifier } from "../src/auth/pkce";
import {
  OidcError,
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
  signedInWith,
  tokenRefusal,
  tokenRequestBody,
  type Pending,
} from "../src/auth/oidc-rules";

const subtle = webcrypto.subtle as unknown as SubtleCrypto;

function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString("base64url");
}
function jwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: "ES256", typ: "JWT" }): string {
  return `${b64json(header)}.${b64json(claims)}.c2ln`;
}
function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof OidcError) return e.detail ? `${e.reason}: ${e.detail}` : e.reason;
    throw e;
  }
  return "accepted";
}

const ISSUER = "https://sso.example.com/realms/g1";
const config = { issuer: ISSUER, clientId: "wuye-console", scopes: "openid" };
const discovery = {
  issuer: ISSUER,
  authorization_endpoint: "https://sso.example.com/realms/g1/protocol/openid-connect/auth",
  token_endpoint: "https://sso.example.com/realms/g1/protocol/openid-connect/token",
  end_session_endpoint: "https://sso.example.com/realms/g1/protocol/openid-connect/logout",
  code_challenge_methods_supported: ["plain", "S256"],
};
const NOW = Date.parse("2026-12-06T03:00:00Z");
const pending: Pending = { issuer: ISSUER, state: "st-123", nonce: "n-456", verifier: "v".repeat(43), returnTo: "/", at: NOW };

test("PKCE S256: RFC 7636 appendix B", async () => {
  // The 32 octets of the appendix's verifier, and the verifier they encode to.
  const octets = Uint8Array.from([
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88,
    83, 132, 141, 121,
  ]);
  expect(base64url(octets)).toBe("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  expect(await s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", subtle)).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
});

test("PKCE: verifiers are 43-128 unreserved characters, random, never reused", async () => {
  const fill = (b: Uint8Array) => webcrypto.getRandomValues(b);
  const a = randomToken(32, fill);
  const b = randomToken(32, fill);
  expect(a).toHaveLength(43);
  expect(validVerifier(a)).toBe(true);
  expect(a).not.toBe(b);
  expect(validVerifier("a".repeat(42))).toBe(false);
  expect(validVerifier("a".repeat(129))).toBe(false);
  expect(validVerifier("a".repeat(42) + "=")).toBe(false);
  expect(validVerifier("a".repeat(128))).toBe(true);
  await expect(s256("short", subtle)).rejects.toThrow(/43-128/);
});

test("the gateway's config: a provider only with an issuer URL and a client id; openid always asked", () => {
  expect(parseConfig({})).toBeNull();
  expect(parseConfig(null)).toBeNull();
  expect(parseConfig({ oidc: { issuer: "", clientId: "c" } })).toBeNull();
  expect(parseConfig({ oidc: { issuer: ISSUER, clientId: "" } })).toBeNull();
  expect(parseConfig({ oidc: { issuer: "javascript:alert(1)", clientId: "c" } })).toBeNull();
  expect(parseConfig({ oidc: { issuer: ISSUER, clientId: "c", scopes: "openid wuye" } })).toEqual({
    issuer: ISSUER,
    clientId: "c",
    scopes: "openid wuye",
  });
  expect(parseConfig({ oidc: { issuer: ISSUER, clientId: "c", scopes: "wuye" } })?.scopes).toBe("openid wuye");
});

test("discovery: the issuer's own document, S256, the token endpoint on the issuer's origin", () => {
  expect(discoveryUrl(ISSUER)).toBe(`${ISSUER}/.well-known/openid-configuration`);
  expect(discoveryUrl(`${ISSUER}/`)).toBe(`${ISSUER}/.well-known/openid-configuration`);
  const d = checkDiscovery(discovery, ISSUER);
  expect(d.token_endpoint).toBe(discovery.token_endpoint);
  expect(d.end_session_endpoint).toBe(discovery.end_session_endpoint);
  // Discovery §4.3: a document naming another issuer is refused.
  expect(reason(() => checkDiscovery({ ...discovery, issuer: "https://evil.example.com" }, ISSUER))).toMatch(/^discovery/);
  expect(reason(() => checkDiscovery({ ...discovery, token_endpoint: undefined }, ISSUER))).toBe("discovery: no token_endpoint");
  // The CSP lets the console connect to the issuer's origin only.
  expect(reason(() => checkDiscovery({ ...discovery, token_endpoint: "https://tokens.example.com/t" }, ISSUER))).toBe(
    "discovery: token_endpoint is not on the issuer's origin",
  );
  expect(reason(() => checkDiscovery({ ...discovery, authorization_endpoint: "http://sso.example.com/a" }, ISSUER))).toMatch(
    /not a https: URL/,
  );
  expect(reason(() => checkDiscovery({ ...discovery, code_challenge_methods_supported: ["plain"] }, ISSUER))).toBe(
    "discovery: S256 PKCE is not supported",
  );
  expect(checkDiscovery({ ...discovery, end_session_endpoint: undefined }, ISSUER).end_session_endpoint).toBeUndefined();
  expect(reason(() => checkDiscovery(null, ISSUER))).toMatch(/^discovery/);
});

test("the authorization request: code, the client, the exact redirect URI, state, nonce, S256", () => {
  const u = new URL(
    authorizeUrl(checkDiscovery(discovery, ISSUER), config, {
      state: "st-123",
      nonce: "n-456",
      challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      redirectUri: "https://desk.example.com/sign-in/callback",
    }),
  );
  expect(u.origin + u.pathname).toBe(discovery.authorization_endpoint);
  expect(Object.fromEntries(u.searchParams)).toEqual({
    response_type: "code",
    client_id: "wuye-console",
    redirect_uri: "https://desk.example.com/sign-in/callback",
    scope: "openid",
    state: "st-123",
    nonce: "n-456",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method: "S256",
  });
});

test("the redirect back: our state or nothing; the provider's refusals named", () => {
  const cb = (q: string) => `https://desk.example.com/sign-in/callback?${q}`;
  expect(callbackCode(cb("code=abc&state=st-123"), pending)).toBe("abc");
  expect(callbackCode(cb(`code=abc&state=st-123&iss=${encodeURIComponent(ISSUER)}`), pending)).toBe("abc");
  expect(reason(() => callbackCode(cb("code=abc&state=st-124"), pending))).toBe("state");
  expect(reason(() => callbackCode(cb("code=abc"), pending))).toBe("state");
  expect(reason(() => callbackCode(cb("code=abc&state=st-123"), null))).toBe("noPending");
  expect(reason(() => callbackCode(cb("error=access_denied&state=st-123"), pending))).toBe("denied");
  // A forged error is refused for its state before it is believed.
  expect(reason(() => callbackCode(cb("error=access_denied&state=forged"), pending))).toBe("state");
  expect(reason(() => callbackCode(cb("error=server_error&error_description=%3Cb%3Ehi&state=st-123"), pending))).toBe(
    "provider: server_error",
  );
  expect(reason(() => callbackCode(cb("error=%3Cscript%3E&state=st-123"), pending))).toBe("provider: script");
  expect(reason(() => callbackCode(cb("state=st-123"), pending))).toBe("provider: no code");
  // RFC 9207: an answer naming another issuer (a mix-up) is refused.
  expect(reason(() => callbackCode(cb("code=abc&state=st-123&iss=https%3A%2F%2Fevil.example.com"), pending))).toMatch(
    /^provider/,
  );
});

test("the pending sign-in: used within ten minutes, complete, or not at all", () => {
  const stored = JSON.stringify(pending);
  expect(parsePending(stored, NOW + 60_000)).toEqual(pending);
  expect(parsePending(stored, NOW + 11 * 60_000)).toBeNull();
  expect(parsePending(null, NOW)).toBeNull();
  expect(parsePending("{", NOW)).toBeNull();
  expect(parsePending(JSON.stringify({ ...pending, verifier: "" }), NOW)).toBeNull();
  expect(parsePending(JSON.stringify({ ...pending, returnTo: "https://evil.example.com/" }), NOW)?.returnTo).toBe("/");
  expect(safeReturnTo("/desk/tickets/01a")).toBe("/desk/tickets/01a");
  expect(safeReturnTo("//evil.example.com")).toBe("/");
  expect(safeReturnTo("/\\evil.example.com")).toBe("/");
  expect(safeReturnTo("/sign-in/callback")).toBe("/");
});

test("the token request: a public client's, with the verifier; refusals say the provider's error code", () => {
  expect(Object.fromEntries(tokenRequestBody("abc", pending.verifier, "https://d/sign-in/callback", "wuye-console"))).toEqual({
    grant_type: "authorization_code",
    code: "abc",
    redirect_uri: "https://d/sign-in/callback",
    client_id: "wuye-console",
    code_verifier: pending.verifier,
  });
  expect(tokenRefusal(400, { error: "invalid_grant", error_description: "PKCE verification failed" }).detail).toBe(
    "invalid_grant (HTTP 400)",
  );
  expect(tokenRefusal(502, null).detail).toBe("HTTP 502");
  const at = jwt({ sub: "s" });
  // A refresh token is never read (nothing kept but the access token).
  expect(accessTokenOf({ access_token: at, token_type: "Bearer", refresh_token: "r", id_token: "i" })).toEqual({
    accessToken: at,
    idToken: "i",
  });
  expect(accessTokenOf({ access_token: at, token_type: "bearer" })).toEqual({ accessToken: at });
  expect(reason(() => accessTokenOf({ token_type: "Bearer" }))).toBe("token: no access_token");
  expect(reason(() => accessTokenOf({ access_token: at, token_type: "DPoP" }))).toBe("token: not a bearer token");
});

test("the ID token is this sign-in's: nonce, audience, issuer", () => {
  const p = { issuer: ISSUER, clientId: "wuye-console", nonce: "n-456" };
  const id = (c: Record<string, unknown>) => jwt({ iss: ISSUER, aud: "wuye-console", nonce: "n-456", sub: "s", ...c });
  expect(reason(() => checkIdToken(undefined, p))).toBe("accepted");
  expect(reason(() => checkIdToken(id({}), p))).toBe("accepted");
  expect(reason(() => checkIdToken(id({ aud: ["other", "wuye-console"] }), p))).toBe("accepted");
  expect(reason(() => checkIdToken(id({ nonce: "replayed" }), p))).toBe("idToken: nonce");
  expect(reason(() => checkIdToken(id({ nonce: undefined }), p))).toBe("idToken: nonce");
  expect(reason(() => checkIdToken(id({ aud: "another-client" }), p))).toBe("idToken: audience");
  expect(reason(() => checkIdToken(id({ iss: "https://evil.example.com" }), p))).toBe("idToken: issuer");
  expect(reason(() => checkIdToken("not-a-jwt", p))).toBe("idToken: unreadable");
});

test("the Session is the access token's claims as the services read them; a token without group or roles is refused", () => {
  const exp = NOW / 1000 + 600;
  const good = { iss: "wuye", aud: "wuye", sub: "01STAFF", grp: "01GROUP", roles: ["agent", "team_lead"], est: ["01E1"], exp };
  const token = jwt(good);
  expect(sessionFromAccessToken(token, NOW)).toEqual({
    token,
    expireTime: new Date(exp * 1000).toISOString(),
    groupId: "01GROUP",
    staffId: "01STAFF",
    name: "",
    roles: ["agent", "team_lead"],
    estateIds: ["01E1"],
  });
  expect(sessionFromAccessToken(jwt({ ...good, est: ["*"] }), NOW).estateIds).toEqual(["*"]);
  expect(sessionFromAccessToken(jwt({ ...good, est: undefined }), NOW).estateIds).toEqual([]);
  // The services' names only: a provider mapping StaffRole's enum names is refused here, as
  // the services' role checks would refuse it on every call.
  expect(sessionFromAccessToken(jwt({ ...good, roles: ["agent", "admin"] }), NOW).roles).toEqual(["agent"]);
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, roles: ["STAFF_ROLE_AGENT"] }), NOW))).toBe("claims: roles");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, grp: undefined }), NOW))).toBe("claims: grp");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, grp: "" }), NOW))).toBe("claims: grp");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, roles: undefined }), NOW))).toBe("claims: roles");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, roles: [] }), NOW))).toBe("claims: roles");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, roles: ["admin"] }), NOW))).toBe("claims: roles");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, roles: "agent" }), NOW))).toBe("claims: roles");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, sub: undefined }), NOW))).toBe("claims: sub");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, est: ["*", "01E1"] }), NOW))).toBe("claims: est");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, est: "01E1" }), NOW))).toBe("claims: est");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, exp: undefined }), NOW))).toBe("claims: exp");
  expect(reason(() => sessionFromAccessToken(jwt({ ...good, exp: NOW / 1000 }), NOW))).toBe("expired");
  expect(reason(() => sessionFromAccessToken("opaque-token", NOW))).toBe("claims: not a JWT");
});

test("sign-out: the provider's end_session_endpoint when it has one; local tokens never go there", () => {
  const d = checkDiscovery(discovery, ISSUER);
  const u = new URL(endSessionUrl(d, "wuye-console", "https://desk.example.com/sign-in")!);
  expect(u.origin + u.pathname).toBe(discovery.end_session_endpoint);
  expect(u.searchParams.get("client_id")).toBe("wuye-console");
  expect(u.searchParams.get("post_logout_redirect_uri")).toBe("https://desk.example.com/sign-in");
  expect(endSessionUrl(checkDiscovery({ ...discovery, end_session_endpoint: undefined }, ISSUER), "c", "x")).toBeNull();
  expect(signedInWith(jwt({ sub: "s" }, { alg: "HS256", typ: "JWT" }))).toBe("local");
  expect(signedInWith(jwt({ sub: "s" }))).toBe("oidc");
});
