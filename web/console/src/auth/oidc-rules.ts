// The OpenID Connect sign-in's rules (docs/console.md, "Sign-in"), pure: what the gateway
// tells the console, the provider's discovery document, the authorization request, the
// answer on the redirect back, the token request, and the Session an access token gives.
// auth/oidc.ts does the fetching, the storing and the redirects with them.
import type { Session } from "./types";
import { decodeJwt } from "./jwt";
import { ROLES, type Role } from "../roles";

/** What GET /console/config says of the group's provider (wuye-gateway --oidc_*). */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  scopes: string;
}

/** The parts of the provider's discovery document (OpenID Connect Discovery 1.0 §3) used. */
export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

/** Why a sign-in did not happen; each has its message (i18n areas/oidc.ts). */
export type OidcFailure =
  | "config" // the gateway names no provider
  | "discovery" // the provider's discovery document is missing or unusable
  | "network" // the provider did not answer
  | "noPending" // a redirect back that this tab did not start (or already used)
  | "state" // the state does not match: possibly forged, refused
  | "denied" // the person or the provider refused (error=access_denied)
  | "provider" // another error from the provider
  | "token" // the token endpoint refused the code
  | "idToken" // the ID token is not for this sign-in (nonce, audience, issuer)
  | "claims" // the access token lacks what the services need (group, roles, ...)
  | "expired"; // the access token is already expired

export class OidcError extends Error {
  constructor(
    readonly reason: OidcFailure,
    readonly detail = "",
  ) {
    super(`OpenID Connect sign-in: ${reason}${detail ? `: ${detail}` : ""}`);
    this.name = "OidcError";
  }
}

/** What this tab keeps in sessionStorage between leaving for the provider and coming back. */
export interface Pending {
  issuer: string;
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  /** ms since the epoch: a pending sign-in older than PENDING_TTL_MS is void. */
  at: number;
}

export const PENDING_KEY = "wuye.console.oidc";
export const PENDING_TTL_MS = 10 * 60 * 1000;
export const CALLBACK_PATH = "/sign-in/callback";

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The provider from /console/config's body, or null when none is configured. */
export function parseConfig(body: unknown): OidcConfig | null {
  const o = (body as { oidc?: Record<string, unknown> } | null)?.oidc;
  if (!o || typeof o !== "object") return null;
  const issuer = str(o.issuer);
  const clientId = str(o.clientId);
  if (!/^https?:\/\/[^/?#]+/.test(issuer) || !clientId) return null;
  const scopes = str(o.scopes).split(/\s+/).filter(Boolean);
  if (!scopes.includes("openid")) scopes.unshift("openid");
  return { issuer, clientId, scopes: scopes.join(" ") };
}

/** Discovery §4: the issuer, without a trailing slash, then /.well-known/openid-configuration. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
}

function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.origin : null;
  } catch {
    return null;
  }
}

/**
 * The discovery document, checked: its issuer is exactly the configured one (Discovery §4.3),
 * every endpoint is an http(s) URL on the issuer's scheme, and the token endpoint is on the
 * issuer's origin, the one origin the gateway's Content-Security-Policy lets the console
 * connect to besides its own. Throws OidcError("discovery").
 */
export function checkDiscovery(doc: unknown, issuer: string): Discovery {
  const d = (doc ?? {}) as Record<string, unknown>;
  if (str(d.issuer) !== issuer) throw new OidcError("discovery", "its issuer is not the configured one");
  const origin = originOf(issuer);
  const scheme = origin ? new URL(origin).protocol : "";
  const endpoint = (name: string, required: boolean): string | undefined => {
    const v = str(d[name]);
    if (!v) {
      if (required) throw new OidcError("discovery", `no ${name}`);
      return undefined;
    }
    const o = originOf(v);
    if (!o || new URL(v).protocol !== scheme) throw new OidcError("discovery", `${name} is not a ${scheme} URL`);
    return v;
  };
  const authorization = endpoint("authorization_endpoint", true)!;
  const token = endpoint("token_endpoint", true)!;
  if (originOf(token) !== origin) throw new OidcError("discovery", "token_endpoint is not on the issuer's origin");
  const methods = d.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes("S256")) throw new OidcError("discovery", "S256 PKCE is not supported");
  const endSession = endpoint("end_session_endpoint", false);
  return {
    issuer,
    authorization_endpoint: authorization,
    token_endpoint: token,
    ...(endSession ? { end_session_endpoint: endSession } : {}),
  };
}

/** The authorization request (OpenID Connect Core §3.1.2.1, RFC 7636 §4.3). */
export function authorizeUrl(
  d: Discovery,
  c: OidcConfig,
  p: { state: string; nonce: string; challenge: string; redirectUri: string },
): string {
  const u = new URL(d.authorization_endpoint);
  const q = u.searchParams;
  q.set("response_type", "code");
  q.set("client_id", c.clientId);
  q.set("redirect_uri", p.redirectUri);
  q.set("scope", c.scopes);
  q.set("state", p.state);
  q.set("nonce", p.nonce);
  q.set("code_challenge", p.challenge);
  q.set("code_challenge_method", "S256");
  return u.toString();
}

/** A path of this console to go to after signing in; anything else is "/". */
export function safeReturnTo(path: string | undefined | null): string {
  if (!path || !path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  if (path.startsWith("/sign-in")) return "/";
  return path;
}

/** The pending sign-in as stored, or null when it is missing, malformed or too old. */
export function parsePending(stored: string | null, now: number): Pending | null {
  if (!stored) return null;
  try {
    const p = JSON.parse(stored) as Partial<Pending>;
    if (!p.state || !p.nonce || !p.verifier || !p.issuer || typeof p.at !== "number") return null;
    if (now - p.at > PENDING_TTL_MS || p.at > now + 60_000) return null;
    return { issuer: p.issuer, state: p.state, nonce: p.nonce, verifier: p.verifier, returnTo: safeReturnTo(p.returnTo), at: p.at };
  } catch {
    return null;
  }
}

// A provider's error code is shown; its free text is not (it may say anything).
function errorCode(v: string | null): string {
  return (v ?? "").replace(/[^a-z0-9_]/gi, "").slice(0, 60);
}

/**
 * The code from the redirect back (Core §3.1.2.5, §3.1.2.6), or the refusal: no sign-in
 * started here, an error from the provider, a state that is not ours (RFC 6749 §10.12),
 * an `iss` that names another provider (RFC 9207).
 */
export function callbackCode(callbackUrl: string, pending: Pending | null): string {
  const q = new URL(callbackUrl).searchParams;
  if (!pending) throw new OidcError("noPending");
  if (q.get("state") !== pending.state) throw new OidcError("state");
  const iss = q.get("iss");
  if (iss !== null && iss !== pending.issuer) throw new OidcError("provider", "the answer names another issuer");
  const error = q.get("error");
  if (error === "access_denied") throw new OidcError("denied");
  if (error !== null) throw new OidcError("provider", errorCode(error));
  const code = q.get("code");
  if (!code) throw new OidcError("provider", "no code");
  return code;
}

/** The token request of a public client (RFC 6749 §4.1.3, RFC 7636 §4.5). */
export function tokenRequestBody(code: string, verifier: string, redirectUri: string, clientId: string): URLSearchParams {
  return new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    code_verifier: verifier,
  });
}

/** What a refused token request says (RFC 6749 §5.2): its error code and the HTTP status. */
export function tokenRefusal(status: number, body: unknown): OidcError {
  const e = errorCode(str((body as { error?: unknown } | null)?.error) || null);
  return new OidcError("token", e ? `${e} (HTTP ${status})` : `HTTP ${status}`);
}

/** The access token from a successful token response; refresh tokens are left unread. */
export function accessTokenOf(body: unknown): { accessToken: string; idToken?: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  const accessToken = str(b.access_token);
  if (!accessToken) throw new OidcError("token", "no access_token");
  if (str(b.token_type).toLowerCase() !== "bearer") throw new OidcError("token", "not a bearer token");
  const idToken = str(b.id_token);
  return idToken ? { accessToken, idToken } : { accessToken };
}

/**
 * The ID token, when the provider sends one, is for this sign-in: its nonce is ours, its
 * audience our client, its issuer the provider. Received straight from the token endpoint
 * over TLS, its signature need not be checked (Core §3.1.3.7, 6.); the services verify the
 * access token, which is what the console uses.
 */
export function checkIdToken(idToken: string | undefined, p: { issuer: string; clientId: string; nonce: string }) {
  if (idToken === undefined) return;
  const jwt = decodeJwt(idToken);
  if (!jwt) throw new OidcError("idToken", "unreadable");
  const c = jwt.claims;
  if (c.nonce !== p.nonce) throw new OidcError("idToken", "nonce");
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (!aud.includes(p.clientId)) throw new OidcError("idToken", "audience");
  if (c.iss !== p.issuer) throw new OidcError("idToken", "issuer");
}

function stringArray(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === "string" && x !== "") ? (v as string[]) : null;
}

/**
 * The Session an access token gives, as the services read it (shared/auth.cc): sub, grp
 * (the group), roles, est (estates, ["*"] for all), exp. A token the console cannot use is
 * refused with the claim named: no subject, no group, no role the console knows, expired.
 */
export function sessionFromAccessToken(token: string, now: number): Session {
  const jwt = decodeJwt(token);
  if (!jwt) throw new OidcError("claims", "not a JWT");
  const c = jwt.claims;
  const sub = str(c.sub);
  if (!sub) throw new OidcError("claims", "sub");
  const grp = str(c.grp);
  if (!grp) throw new OidcError("claims", "grp");
  // Exactly the services' names (shared/auth.h): a role they would not know is not read.
  const roles = (stringArray(c.roles) ?? []).filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  if (roles.length === 0) throw new OidcError("claims", "roles");
  let estateIds: string[] = [];
  if (c.est !== undefined) {
    const est = stringArray(c.est);
    if (!est || (est.includes("*") && est.length !== 1)) throw new OidcError("claims", "est");
    estateIds = est;
  }
  if (typeof c.exp !== "number" || !Number.isFinite(c.exp)) throw new OidcError("claims", "exp");
  if (c.exp * 1000 <= now) throw new OidcError("expired");
  return {
    token,
    expireTime: new Date(c.exp * 1000).toISOString(),
    groupId: grp,
    staffId: sub,
    name: "",
    roles,
    estateIds,
  };
}

/** RP-Initiated Logout 1.0 §2: where sign-out goes, or null when the provider has no such endpoint. */
export function endSessionUrl(d: Discovery, clientId: string, postLogoutRedirectUri: string): string | null {
  if (!d.end_session_endpoint) return null;
  const u = new URL(d.end_session_endpoint);
  u.searchParams.set("client_id", clientId);
  u.searchParams.set("post_logout_redirect_uri", postLogoutRedirectUri);
  return u.toString();
}

/**
 * Which way a token came: the gateway's local sign-in mints HS256 tokens (and is never in
 * production, where the services take only ES256); anything else is the provider's.
 */
export function signedInWith(token: string): "local" | "oidc" {
  return decodeJwt(token)?.header.alg === "HS256" ? "local" : "oidc";
}
