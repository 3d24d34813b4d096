// A Connect transport to wuye-gateway (docs/api/http.md) that sends the caller's bearer
// token. It is Connect-Web's: fetch() in a browser or mini-program web view, and in Node
// 18 or later too. Node programs may prefer @connectrpc/connect-node's transport with the
// same `bearer` interceptor.
import { createConnectTransport } from "@connectrpc/connect-web";

// An interceptor that sets `Authorization: Bearer <token>` on every call; a function
// token is asked each call (for a token that is renewed).
export function bearer(token) {
  return (next) => async (req) => {
    const value = typeof token === "function" ? await token() : token;
    if (value) req.header.set("Authorization", `Bearer ${value}`);
    return next(req);
  };
}

// baseUrl: the gateway, e.g. "https://api.example.com" or "http://127.0.0.1:50080".
// options: passed on to createConnectTransport (useBinaryFormat, useHttpGet,
// interceptors, ...); the bearer interceptor runs first.
export function createTransport(baseUrl, token, options = {}) {
  const { interceptors = [], ...rest } = options;
  return createConnectTransport({
    baseUrl,
    ...rest,
    interceptors: token ? [bearer(token), ...interceptors] : interceptors,
  });
}
