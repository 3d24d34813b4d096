// A refused or lost call as the person reads it: the field named, denied, unavailable, or
// "sent again, never twice".
import { ConnectError } from "@connectrpc/connect";
import { Code, refusal, unanswered } from "../api/clients";

type T = (key: string, values?: Record<string, unknown>) => string;

export function refusedText(e: unknown, t: T): string {
  if (unanswered(e)) return t("dispatch.retry");
  const r = refusal(e);
  if (r.fields.some((f) => f.field === "request_id")) return t("dispatch.reused");
  if (r.fields.length) return r.fields.map((f) => t("error.field", f)).join("；");
  if (r.code === Code.PermissionDenied) return t("error.denied");
  return t("error.generic", { message: ConnectError.from(e).rawMessage });
}
