// Reading a compact JWS's header and claims, without checking its signature: the console
// only reads what its own token says (who, which group, roles, estates, until when); the
// services verify it on every call.

export interface JwtParts {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function part(b64: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(b64)) return null;
  try {
    const std = b64.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(std + "===".slice((std.length + 3) % 4)), (c) => c.charCodeAt(0));
    const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The header and claims of a compact JWS, or null when it is not one. */
export function decodeJwt(token: string): JwtParts | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[2]) return null;
  const header = part(parts[0]);
  const claims = part(parts[1]);
  return header && claims ? { header, claims } : null;
}
