// A fresh request_id (AIP-155) for one intent: made when a form or dialog opens, sent with
// every attempt of that intent. crypto.randomUUID needs a secure context (HTTPS or
// localhost); on a plain-HTTP address in the office's network getRandomValues still works.
export function newRequestId(): string {
  if (typeof crypto.randomUUID === "function" && window.isSecureContext) return `console-${crypto.randomUUID()}`;
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `console-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
