// 绩效's pure rules: who may do what on the page, from performance's role table
// (docs/api/performance.md, "Methods and who may call them"), and what a line or an appeal
// allows now. Plain functions of the messages the service answers (tests/performance-rules.spec.ts).
import type { Appeal, Line, QualityLine, Sheet } from "@wuye/clients/gen/wuye/performance/v1/performance_pb.js";
import { AppealState, QualityLineState, SheetState } from "@wuye/clients/gen/wuye/performance/v1/performance_pb.js";
import type { Role } from "../roles";

/** "Managers" of performance's role table. */
export const MANAGERS: readonly Role[] = ["group_admin", "estate_manager", "supervisor", "team_lead", "quality_inspector"];

/** Performance's role table, as far as the page uses it. */
export const PERFORMANCE = {
  /** GetQualityLedger, ListRankings, GetTeamSheet, and any staff member's GetSheet (estate in token). */
  team: MANAGERS,
  /** ConfirmQualityLine (a housing claim the committee confirmed). */
  confirm: ["estate_manager", "group_admin"] as readonly Role[],
  /** DecideAppeal of a person's form line (never on one's own line). */
  decideForm: ["estate_manager", "group_admin"] as readonly Role[],
  /** DecideAppeal of an office line: the committee's decision, recorded by a group admin. */
  decideOffice: ["group_admin"] as readonly Role[],
  /** CreateAppeal of an office line: the office objects through its estate manager. */
  appealOffice: ["estate_manager"] as readonly Role[],
} as const;

export interface Caller {
  staffId: string;
  roles: readonly Role[];
}

function has(c: Caller, allowed: readonly Role[]) {
  return c.roles.some((r) => allowed.includes(r));
}

/** Whether the caller sees the team's forms and the office's ledger (else only their own form). */
export function seesTeam(c: Caller): boolean {
  return has(c, PERFORMANCE.team);
}

/** The month a moment falls in, on the estate's clock (sheets are per estate month). */
export function monthIn(at: Date, zone: string): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat("en", { timeZone: zone, year: "numeric", month: "numeric" }).formatToParts(at);
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: n("year"), month: n("month") };
}

/** This month and the `count - 1` before it, newest first. */
export function recentMonths(from: { year: number; month: number }, count: number): { year: number; month: number }[] {
  const out: { year: number; month: number }[] = [];
  let { year, month } = from;
  for (let i = 0; i < count; i++) {
    out.push({ year, month });
    month--;
    if (month === 0) {
      month = 12;
      year--;
    }
  }
  return out;
}

export function monthKey(m: { year: number; month: number }): string {
  return `${m.year}-${String(m.month).padStart(2, "0")}`;
}

export function parseMonthKey(key: string): { year: number; month: number } | null {
  const m = /^(\d{4})-(\d{2})$/.exec(key);
  if (!m) return null;
  const month = Number(m[2]);
  return month >= 1 && month <= 12 ? { year: Number(m[1]), month } : null;
}

/** Points as a ledger shows them: "+10", "−2", "0" (a true minus sign). */
export function points(n: number): string {
  if (n > 0) return `+${n}`;
  if (n < 0) return `−${-n}`;
  return "0";
}

/** The grade by the score (002_…, 第七章): ≥ 98 excellent, 91–97 good, 86–90 pass, ≤ 85 fail. */
export function gradeOf(score: number): "excellent" | "good" | "pass" | "fail" {
  if (score >= 98) return "excellent";
  if (score >= 91) return "good";
  if (score >= 86) return "pass";
  return "fail";
}

/** What a form line is now, for its tag. */
export type LineStatus = "counted" | "voided" | "pending" | "appealed";

export function appealOfLine(line: Line, appeals: readonly Appeal[]): Appeal | undefined {
  return appeals.find((a) => a.lineId === line.id && a.lineId !== "");
}

export function lineStatus(line: Line, appeals: readonly Appeal[]): LineStatus {
  if (line.voided) return "voided";
  if (line.pending) return "pending";
  if (appealOfLine(line, appeals)?.state === AppealState.PENDING) return "appealed";
  return "counted";
}

/** Whether the appeal window of the sheet's month is still open at `now`. */
export function windowOpen(sheet: Sheet, now: Date): boolean {
  if (sheet.state === SheetState.CLOSED) return false;
  const d = sheet.appealDeadline;
  if (!d) return true;
  return now.getTime() < Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}

/**
 * Whether the caller may appeal this form line now: only the person whose line it is, while
 * the month's window is open, one appeal per line, and never on a line voided or awaiting
 * the committee's confirmation (it counts nothing yet).
 */
export function canAppealLine(line: Line, sheet: Sheet, c: Caller, now: Date): boolean {
  if (line.staffId !== c.staffId || sheet.staffId !== c.staffId) return false;
  if (!line.id || line.voided || line.pending) return false;
  if (appealOfLine(line, sheet.appeals)) return false;
  return windowOpen(sheet, now);
}

/**
 * Whether the caller may decide this appeal: a pending one; a person's form line by an
 * estate manager or group admin, never on their own line; an office line by a group admin
 * (the committee's decision), never the one who appealed nor a person the line names.
 */
export function canDecide(a: Appeal, c: Caller, officeLine?: QualityLine): boolean {
  if (a.state !== AppealState.PENDING) return false;
  if (a.qualityLineId) {
    if (!has(c, PERFORMANCE.decideOffice)) return false;
    if (a.appealedBy === c.staffId) return false;
    return !(officeLine?.responsibleStaffIds ?? []).includes(c.staffId);
  }
  if (!has(c, PERFORMANCE.decideForm)) return false;
  return a.staffId !== c.staffId;
}

/**
 * Whether the caller may record the committee's confirmation of an office line: never one of
 * the people the line names (000_… 二.11; the service refuses them PERMISSION_DENIED).
 */
export function canConfirm(line: QualityLine, c: Caller): boolean {
  return (
    line.state === QualityLineState.AWAITING_CONFIRMATION &&
    has(c, PERFORMANCE.confirm) &&
    !line.responsibleStaffIds.includes(c.staffId)
  );
}

/**
 * Whether the caller may object to an office line for the office: a counted deduction (the
 * office has no cause to object to a reward, nor to the arrears points billing reported),
 * not yet appealed, while the month's window is open.
 */
export function canAppealOfficeLine(line: QualityLine, c: Caller, windowIsOpen: boolean): boolean {
  return (
    windowIsOpen &&
    line.points < 0 &&
    line.state === QualityLineState.COUNTED &&
    !line.underAppeal &&
    !line.appealId &&
    has(c, PERFORMANCE.appealOffice) &&
    !line.item.startsWith("arrears_")
  );
}

/**
 * A required text as the service checks it (CheckText): trimmed, not empty, at most `maxBytes`
 * bytes of UTF-8 (a reason 2000, a committee's reference 200; a Chinese character is 3).
 */
export function textProblem(text: string, maxBytes = 2000): "required" | "tooLong" | null {
  const t = text.trim();
  if (!t) return "required";
  if (new TextEncoder().encode(t).length > maxBytes) return "tooLong";
  return null;
}
