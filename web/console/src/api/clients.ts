// The services, through the typed Connect clients generated from protos/ (@wuye/clients)
// and nothing else. The gateway serves the console, so every call is same-origin:
// POST /<package>.<Service>/<Method> on the page's own origin (docs/api/http.md).
import { createClient, type Client, type Interceptor, ConnectError, Code } from "@connectrpc/connect";
import { createTransport } from "@wuye/clients/transport";
import { DirectoryService } from "@wuye/clients/gen/wuye/directory/v1/directory_pb.js";
import { IntakeService } from "@wuye/clients/gen/wuye/intake/v1/intake_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "@wuye/clients/gen/google/rpc/error_details_pb.js";
import { session } from "../auth/session";

// Every call is a POST, reads too: a GET's answer may be kept in the browser's HTTP cache,
// and residents' names and numbers must not be (nothing personal kept beyond the session).
// The token is asked each call, so a new sign-in applies at once.
// A call refused `unauthenticated` (the token expired or was revoked) ends the session: the
// person signs in again rather than meeting the same refusal on every page.
const signOutWhenRefused: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    if (ConnectError.from(e).code === Code.Unauthenticated && session.token()) session.signOut("refused");
    throw e;
  }
};
export const transport = createTransport(window.location.origin, () => session.token() ?? "", {
  interceptors: [signOutWhenRefused],
});

export const directory: Client<typeof DirectoryService> = createClient(DirectoryService, transport);
export const intake: Client<typeof IntakeService> = createClient(IntakeService, transport);

/** A refusal as the person at the desk reads it: the field it names, and why. */
export interface Refusal {
  code: Code;
  message: string;
  fields: { field: string; description: string }[];
  /** The service's reason (google.rpc.ErrorInfo), e.g. MONTH_NOT_BILLED; "" when none. */
  reason: string;
}

export function refusal(err: unknown): Refusal {
  const e = ConnectError.from(err);
  const fields = e.findDetails(BadRequestSchema).flatMap((b) =>
    b.fieldViolations.map((v) => ({ field: v.field, description: v.description })),
  );
  const reason = e.findDetails(ErrorInfoSchema)[0]?.reason ?? "";
  return { code: e.code, message: e.rawMessage, fields, reason };
}

type Translate = (key: string, values?: Record<string, unknown>) => string;

/**
 * A refused or unanswered call as the person reads it: unavailable (or `unanswered`, e.g. "sent
 * again, never twice", for a call that changes something), denied, the server too busy to
 * take it (nothing was done), the fields named, a month not billed yet, or the service's
 * message.
 */
export function explain(err: unknown, t: Translate, unansweredText = t("error.unavailable")): string {
  if (unanswered(err)) return unansweredText;
  const r = refusal(err);
  if (r.code === Code.PermissionDenied) return t("error.denied");
  if (r.reason === "SERVER_BUSY") return t("error.busy");
  if (r.reason === "MONTH_NOT_BILLED") return t("error.notBilled");
  if (r.fields.length) return r.fields.map((f) => t("error.field", f)).join("；");
  return t("error.generic", { message: r.message });
}

/** Whether the call never got an answer (network, gateway down): safe to send again. */
export function unanswered(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.Unavailable || code === Code.Unknown || code === Code.DeadlineExceeded || code === Code.Canceled;
}

export { Code };
