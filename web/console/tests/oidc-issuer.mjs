#!/usr/bin/env node
// A small OpenID Connect provider for the console's browser tests (tests/oidc.spec.ts, run by
// tests/console_test.cc). NOT a part of the product: it stands in for a group's provider
// (docs/operations.md, "Signing in with the group's provider"), in plain Node 18 (node:http,
// node:crypto), and keeps everything in memory.
//
//   GET  /.well-known/openid-configuration   discovery (issuer = http://<listen>)
//   GET  /jwks                               the ES256 public key as a JWK
//   GET  /authorize                          a login page listing the people it knows
//   POST /authorize                          the person picked (or refused) -> redirect back
//   POST /token                              authorization_code + code_verifier (S256)
//   GET  /logout                             RP-initiated logout -> post_logout_redirect_uri
//
// What it holds to, as a real provider must: the client and its redirect URI match exactly
// (else an error page, never a redirect), only response_type=code with an S256 challenge,
// codes live 60 s and are used once, the verifier's SHA-256 must be the challenge, the code
// was given to this client for this redirect URI; CORS only for the registered origins.
//
// Flags (unknown ones are ignored: tests/service_process.h adds --metrics_listen and
// --shutdown_grace):
//   --listen=127.0.0.1:PORT   where to listen; the issuer is http://127.0.0.1:PORT
//   --key_file=F              its ES256 (P-256) private key, PEM
//   --config=F                JSON, read at every request (a test writes it once it knows the
//                             console's origin):
//     {"clients":[{"client_id","redirect_uris":[…],"post_logout_redirect_uris":[…]}],
//      "people_url":"http://gateway/local/people",   people from the gateway's local list
//      "people":[{"sub","name","grp","roles":[…],"est":[…]}]}   and/or listed here
//   --token_issuer=S          the access token's iss (default: the issuer URL). The suite's
//                             services take the local HS256 tokens too, whose iss is "wuye".
//   --audience=S              the access token's aud (default "wuye")
//   --token_lifetime=S        seconds (default 600)
import { createServer } from "node:http";
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { readFileSync } from "node:fs";

const flags = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith("--"))
    .map((a) => {
      const eq = a.indexOf("=");
      return eq < 0 ? [a.slice(2), "true"] : [a.slice(2, eq), a.slice(eq + 1)];
    }),
);
const [host, port] = (flags.listen ?? "127.0.0.1:0").split(":");
if (!flags.key_file || !flags.config) {
  console.error("oidc-issuer: --key_file and --config are required");
  process.exit(2);
}
const privateKey = createPrivateKey(readFileSync(flags.key_file, "utf8"));
const jwk = { ...createPublicKey(privateKey).export({ format: "jwk" }), kid: "test-es256-1", alg: "ES256", use: "sig" };
const audience = flags.audience ?? "wuye";
const lifetime = Number(flags.token_lifetime ?? 600);
let issuer = ""; // http://host:port, once listening

const b64url = (buf) => Buffer.from(buf).toString("base64url");
const json = (v) => b64url(JSON.stringify(v));
function es256(claims, typ = "JWT") {
  const input = `${json({ alg: "ES256", typ, kid: jwk.kid })}.${json(claims)}`;
  const sig = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(sig)}`;
}
const log = (msg, fields = {}) => console.log(JSON.stringify({ ts: new Date().toISOString(), svc: "oidc-issuer", msg, ...fields }));

function readConfig() {
  try {
    return JSON.parse(readFileSync(flags.config, "utf8"));
  } catch {
    return { clients: [], people: [] };
  }
}

async function people(config) {
  const out = [];
  if (config.people_url) {
    try {
      const r = await fetch(config.people_url);
      const body = await r.json();
      for (const g of body.groups ?? []) {
        for (const p of g.people ?? []) {
          out.push({ sub: p.id, name: p.name, grp: g.id, roles: p.roles ?? [], est: (p.estates ?? []).map((e) => e.id) });
        }
      }
    } catch (e) {
      log("people_url.failed", { error: String(e) });
    }
  }
  return out.concat(config.people ?? []);
}

const codes = new Map(); // code -> {client_id, redirect_uri, challenge, nonce, person, expires}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "Cache-Control": "no-store", ...headers });
  res.end(body);
}
function sendJson(res, status, value, cors) {
  send(res, status, JSON.stringify(value), { "Content-Type": "application/json", ...cors });
}
function redirect(res, url) {
  send(res, 303, "", { Location: url });
}
function page(res, status, title, body) {
  send(
    res,
    status,
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>${esc(title)}</title>` +
      `<body style="font-family:sans-serif;max-width:640px;margin:24px auto"><h1>${esc(title)}</h1>${body}</body></html>`,
    { "Content-Type": "text/html; charset=utf-8" },
  );
}

// CORS for the registered clients' origins only (the console calls discovery and /token).
function corsFor(req, config) {
  const origin = req.headers.origin;
  if (!origin) return {};
  const allowed = (config.clients ?? []).some((c) => (c.redirect_uris ?? []).some((u) => new URL(u).origin === origin));
  return allowed ? { "Access-Control-Allow-Origin": origin, Vary: "Origin" } : {};
}

function client(config, id) {
  return (config.clients ?? []).find((c) => c.client_id === id);
}

async function body(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 16384) throw new Error("body too large");
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function errorBack(res, redirectUri, state, error) {
  const u = new URL(redirectUri);
  u.searchParams.set("error", error);
  if (state) u.searchParams.set("state", state);
  u.searchParams.set("iss", issuer);
  redirect(res, u.toString());
}

// The checks of an authorization request (GET shows the page, POST acts on the choice).
function checkAuthorize(q, config, res) {
  const c = client(config, q.get("client_id"));
  const redirectUri = q.get("redirect_uri") ?? "";
  if (!c || !(c.redirect_uris ?? []).includes(redirectUri)) {
    // Never redirect to an unregistered URI (RFC 6749 §4.1.2.1).
    page(res, 400, "Unknown client or redirect_uri", "<p>The client or its redirect URI is not registered.</p>");
    return null;
  }
  const state = q.get("state") ?? "";
  if (q.get("response_type") !== "code") return errorBack(res, redirectUri, state, "unsupported_response_type"), null;
  if (!(q.get("scope") ?? "").split(" ").includes("openid")) return errorBack(res, redirectUri, state, "invalid_scope"), null;
  if (q.get("code_challenge_method") !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(q.get("code_challenge") ?? "")) {
    return errorBack(res, redirectUri, state, "invalid_request"), null;
  }
  return { client: c, redirectUri, state };
}

const PARAMS = ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"];

async function authorizeGet(req, res, q, config) {
  if (!checkAuthorize(q, config, res)) return;
  const hidden = PARAMS.map((p) => `<input type="hidden" name="${p}" value="${esc(q.get(p) ?? "")}">`).join("");
  const list = (await people(config))
    .map(
      (p) =>
        `<li><button type="submit" name="sub" value="${esc(p.sub)}" data-sub="${esc(p.sub)}" data-name="${esc(p.name ?? p.sub)}">` +
        `${esc(p.name ?? p.sub)}</button> <small>${esc((p.roles ?? []).join(", ") || "no roles")}</small></li>`,
    )
    .join("");
  page(
    res,
    200,
    "Test sign-in (oidc-issuer)",
    `<form method="post" action="/authorize">${hidden}<ul id="people">${list}</ul>` +
      `<button type="submit" name="deny" value="1" id="deny">Refuse</button></form>`,
  );
}

async function authorizePost(req, res, config) {
  const q = await body(req);
  const ok = checkAuthorize(q, config, res);
  if (!ok) return;
  if (q.get("deny")) return errorBack(res, ok.redirectUri, ok.state, "access_denied");
  const person = (await people(config)).find((p) => p.sub === q.get("sub"));
  if (!person) return errorBack(res, ok.redirectUri, ok.state, "access_denied");
  const code = b64url(randomBytes(32));
  codes.set(code, {
    client_id: ok.client.client_id,
    redirect_uri: ok.redirectUri,
    challenge: q.get("code_challenge"),
    nonce: q.get("nonce") ?? "",
    person,
    expires: Date.now() + 60_000,
  });
  const u = new URL(ok.redirectUri);
  u.searchParams.set("code", code);
  if (ok.state) u.searchParams.set("state", ok.state);
  u.searchParams.set("iss", issuer);
  log("authorize.code", { client_id: ok.client.client_id });
  redirect(res, u.toString());
}

async function token(req, res, config) {
  const cors = corsFor(req, config);
  const refuse = (error, why) => {
    log("token.refused", { error, why });
    sendJson(res, 400, { error, error_description: why }, cors);
  };
  const q = await body(req);
  if (q.get("grant_type") !== "authorization_code") return refuse("unsupported_grant_type", "authorization_code only");
  const code = q.get("code") ?? "";
  const grant = codes.get(code);
  codes.delete(code); // used once, whatever follows
  if (!grant || grant.expires < Date.now()) return refuse("invalid_grant", "unknown, used or expired code");
  if (q.get("client_id") !== grant.client_id || !client(config, grant.client_id)) return refuse("invalid_grant", "another client's code");
  if (q.get("redirect_uri") !== grant.redirect_uri) return refuse("invalid_grant", "redirect_uri differs");
  const verifier = q.get("code_verifier") ?? "";
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return refuse("invalid_grant", "bad code_verifier");
  if (b64url(createHash("sha256").update(verifier, "ascii").digest()) !== grant.challenge) {
    return refuse("invalid_grant", "PKCE verification failed");
  }
  const now = Math.floor(Date.now() / 1000);
  const p = grant.person;
  const access = { iss: flags.token_issuer ?? issuer, aud: audience, sub: p.sub, iat: now, exp: now + lifetime, client_id: grant.client_id, scope: "openid" };
  if (p.grp) access.grp = p.grp;
  if (p.roles && p.roles.length) access.roles = p.roles;
  if (p.est && p.est.length) access.est = p.est;
  const id = { iss: issuer, aud: grant.client_id, sub: p.sub, iat: now, exp: now + lifetime, auth_time: now, nonce: grant.nonce };
  log("token.issued", { client_id: grant.client_id });
  sendJson(
    res,
    200,
    {
      access_token: es256(access, "at+jwt"), // RFC 9068's type, as providers set it
      token_type: "Bearer",
      expires_in: lifetime,
      id_token: es256(id),
      // Offered, as many providers do; the console must not keep it.
      refresh_token: b64url(randomBytes(32)),
      scope: "openid",
    },
    cors,
  );
}

function logout(req, res, q, config) {
  const c = client(config, q.get("client_id"));
  const to = q.get("post_logout_redirect_uri");
  if (c && to && (c.post_logout_redirect_uris ?? []).includes(to)) return redirect(res, to);
  page(res, 200, "Signed out", "<p>You are signed out of the test provider.</p>");
}

const server = createServer(async (req, res) => {
  try {
    const config = readConfig();
    const url = new URL(req.url ?? "/", issuer || "http://localhost");
    const cors = corsFor(req, config);
    if (req.method === "OPTIONS") {
      return send(res, 204, "", { ...cors, "Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Content-Type, Accept" });
    }
    switch (`${req.method} ${url.pathname}`) {
      case "GET /.well-known/openid-configuration":
        return sendJson(
          res,
          200,
          {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: `${issuer}/jwks`,
            end_session_endpoint: `${issuer}/logout`,
            response_types_supported: ["code"],
            grant_types_supported: ["authorization_code"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["ES256"],
            code_challenge_methods_supported: ["S256"],
            token_endpoint_auth_methods_supported: ["none"],
            scopes_supported: ["openid"],
            authorization_response_iss_parameter_supported: true,
          },
          cors,
        );
      case "GET /jwks":
        return sendJson(res, 200, { keys: [jwk] }, cors);
      case "GET /authorize":
        return await authorizeGet(req, res, url.searchParams, config);
      case "POST /authorize":
        return await authorizePost(req, res, config);
      case "POST /token":
        return await token(req, res, config);
      case "GET /logout":
        return logout(req, res, url.searchParams, config);
      default:
        return send(res, 404, "not found\n", { "Content-Type": "text/plain" });
    }
  } catch (e) {
    log("error", { error: String(e) });
    if (!res.headersSent) send(res, 500, "error\n", { "Content-Type": "text/plain" });
  }
});

server.listen(Number(port), host, () => {
  const a = server.address();
  issuer = `http://${host}:${a.port}`;
  log("listening", { issuer });
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
