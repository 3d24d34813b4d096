// 居家养老's pure rules: who may do what, from eldercare's role table (docs/api/eldercare.md,
// "Methods and who may call them"), and the health card's stated purpose. Everything about an
// elder is confidential (seed 004_… 5.14: "老人的所有資料,親人聯系電話、本人的健康卡檔案,均屬保密資料"):
// the page asks for the card only for the roles the table lets read it, only after a purpose
// is stated, and keeps it in the page alone (tests/eldercare-rules.spec.ts).
import type { Date as CivilDate } from "@wuye/clients/gen/wuye/eldercare/v1/eldercare_pb.js";
import type { Role } from "../roles";

const DESK: readonly Role[] = ["agent", "team_lead", "supervisor"];
const CARE: readonly Role[] = ["nurse", "care_worker", "clinic"];

/** Eldercare's role table, as far as the page uses it. */
export const ELDERCARE = {
  /** ListElders, GetElder, ListDueVisits (no health value, ID number or contact). */
  list: [...DESK, "estate_manager", ...CARE, "group_admin"] as readonly Role[],
  /** ListDueVisits: front desk, estate managers, care roles (not group admins). */
  dueVisits: [...DESK, "estate_manager", ...CARE] as readonly Role[],
  /** RaiseEmergency (the guard too, but the guard cannot list elders: not on this page). */
  emergency: [...DESK, "estate_manager", ...CARE, "security_guard"] as readonly Role[],
  /** RaiseSafetyCheck (typhoon: every enrolled home of the estate). */
  raiseSafetyCheck: ["team_lead", "supervisor", "estate_manager"] as readonly Role[],
  /** RecordSafetyCheckResult; GetSafetyCheck also group admins. */
  recordSafetyCheck: [...DESK, "estate_manager", "nurse", "care_worker", "security_guard"] as readonly Role[],
  readSafetyCheck: [...DESK, "estate_manager", "nurse", "care_worker", "security_guard", "group_admin"] as readonly Role[],
  /** ListAuditEntries: the trail of the card's reads. */
  audit: ["estate_manager", "supervisor", "quality_inspector", "group_admin"] as readonly Role[],
} as const;

/** The roles that have something to do on the page: those that list the elders, and the auditors. */
export const ELDERCARE_PAGE: readonly Role[] = [...new Set([...ELDERCARE.list, ...ELDERCARE.audit])];

function has(roles: readonly Role[], allowed: readonly Role[]) {
  return roles.some((r) => allowed.includes(r));
}

export function may(roles: readonly Role[], what: keyof typeof ELDERCARE): boolean {
  return has(roles, ELDERCARE[what]);
}

/**
 * How the caller may read the health card (GetHealthCard):
 * - "full": nurses, care workers, the clinic (the whole card);
 * - "emergency": the front desk, blood type and drug allergies only, with a purpose;
 * - "none": everyone else — no button, no request.
 * Break-glass (the whole card, flagged for review) is `breakGlass()`.
 */
export type CardAccess = "full" | "emergency" | "none";

export function cardAccess(roles: readonly Role[]): CardAccess {
  if (has(roles, CARE)) return "full";
  if (has(roles, DESK)) return "emergency";
  return "none";
}

/** Break-glass: the front desk and the estate manager, with a reason; never the care roles (theirs is the whole card already). */
export function breakGlass(roles: readonly Role[]): boolean {
  return cardAccess(roles) !== "full" && has(roles, [...DESK, "estate_manager"]);
}

/**
 * The purposes the page offers (the RPC's `purpose` is free text, required for the front
 * desk, recorded for everyone, at most 500 characters, no health detail); the page asks every
 * role for one before the card is read. "other" takes the person's own words.
 */
export const PURPOSES = ["visit", "care", "emergency", "followUp", "other"] as const;
export type Purpose = (typeof PURPOSES)[number];

/** The maximum the service takes (CheckText: 500 characters). */
export const PURPOSE_MAX = 500;

/**
 * The purpose as sent and audited: the chosen purpose's words, or the person's own for
 * "other"; a note, when given, after a colon. Null when nothing usable is stated.
 */
export function purposeText(choice: Purpose | "", label: string, note: string): string | null {
  const n = note.trim().replace(/\s+/g, " ");
  if (!choice) return null;
  const text = choice === "other" ? n : n ? `${label}：${n}` : label;
  if (!text || [...text].length > PURPOSE_MAX) return null;
  return text;
}

/** The card's five fields (004_… 5.5: 血型、家族病史、近期疾病史、藥物過敏史、食物禁忌提示), in the seed's order. */
export const CARD_FIELDS = ["bloodType", "familyHistory", "recentIllness", "drugAllergies", "foodTaboos"] as const;
/** The part the front desk's emergency view carries. */
export const EMERGENCY_FIELDS = ["bloodType", "drugAllergies"] as const;

/** The RPCs that carry health values or contacts: never asked by a role the table refuses. */
export const HEALTH_RPCS = ["GetHealthCard", "GetCheckup", "GetFamilyContacts"] as const;

/** A calendar date as the page shows it: "2026-12-13". */
export function dateText(d: CivilDate | undefined): string {
  if (!d || !d.year) return "";
  return `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
}

/** Whole days from `a` to `b` (calendar dates; positive when b is later). */
export function daysBetween(a: CivilDate, b: CivilDate): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

/** Today on the estate's clock, as a calendar date. */
export function todayIn(zone: string, now = new Date()): { year: number; month: number; day: number } {
  const parts = new Intl.DateTimeFormat("en", { timeZone: zone, year: "numeric", month: "numeric", day: "numeric" }).formatToParts(now);
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: n("year"), month: n("month"), day: n("day") };
}
