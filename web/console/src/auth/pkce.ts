// PKCE (RFC 7636) for the OpenID Connect sign-in: a code verifier made of random bytes, and
// its S256 challenge, BASE64URL(SHA-256(ASCII(verifier))) (§4.2). Pure: the random source
// and the digest are passed in, so that the rules' tests run without a browser.

/** base64url without padding (RFC 4648 §5), as JWS and PKCE write bytes. */
export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `n` random bytes as base64url: 32 bytes make a 43-character verifier (§4.1's minimum). */
export function randomToken(n = 32, fill: (b: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  return base64url(fill(new Uint8Array(n)));
}

/** RFC 7636 §4.1: 43 to 128 characters of [A-Z] [a-z] [0-9] - . _ ~ */
export function validVerifier(v: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(v);
}

/** The S256 code challenge of `verifier` (§4.2). */
export async function s256(verifier: string, subtle: SubtleCrypto = crypto.subtle): Promise<string> {
  if (!validVerifier(verifier)) throw new Error("pkce: a code verifier is 43-128 unreserved characters");
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
