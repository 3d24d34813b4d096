// A refused or lost call on the board as the person reads it: "sent again, never twice", a
// request_id reused for another change, else as everywhere (api/clients.ts, explain).
import { explain, refusal, unanswered } from "../api/clients";

type T = (key: string, values?: Record<string, unknown>) => string;

export function refusedText(e: unknown, t: T): string {
  if (!unanswered(e) && refusal(e).fields.some((f) => f.field === "request_id")) return t("dispatch.reused");
  return explain(e, t, t("dispatch.retry"));
}
