// The callbacks page's rules (回访, issue #24 page 3), as plain functions: which tickets are
// mandatory callbacks and which the monthly sample picked, which are late, the due list's
// order, and who sees what (intake's role table, docs/api/intake.md). No I/O.
//
// The quota itself is never computed here: intake's GetCallbackCoverage answers it
// (quota_percent, callbacks_required, from the households served, 004_… 5.5.2) and the page
// shows those figures as they are.
import { CallbackReason } from "@wuye/clients/gen/wuye/intake/v1/intake_pb.js";
import { INTAKE, hasAny, type Role } from "../roles";
import { monthAt, monthKey } from "../months";

/** Always called back, whatever the sample: every complaint and 5.5.2 A–D. */
export function mandatory(reason: CallbackReason): boolean {
  return (
    reason === CallbackReason.COMPLAINT ||
    reason === CallbackReason.NEW_CONTRACT ||
    reason === CallbackReason.NEW_SERVICE_ITEM ||
    reason === CallbackReason.NEW_STAFF ||
    reason === CallbackReason.COMPLAINED_STAFF
  );
}

/**
 * Late: still waiting for its call after the month in which it became due has ended, in the
 * estate's zone. 004_… 5.5.2 has the callbacks of each month's services made that month
 * (每月对当月居家服务对象…回访): once the month is over, its coverage lacks this call.
 */
export function lateCallback(dueSince: Date | undefined, now: Date, zone: string): boolean {
  if (!dueSince) return false;
  return monthKey(monthAt(dueSince, zone)) < monthKey(monthAt(now, zone));
}

export interface DueLike {
  late: boolean;
  reason: CallbackReason;
  dueSinceMs: number;
}

/** The due list's order: late first, then the mandatory before the sample, then the oldest. */
export function dueOrder(a: DueLike, b: DueLike): number {
  if (a.late !== b.late) return a.late ? -1 : 1;
  const ma = mandatory(a.reason);
  if (ma !== mandatory(b.reason)) return ma ? -1 : 1;
  return a.dueSinceMs - b.dueSinceMs;
}

/** Basis points as a percentage with one decimal ("33.3 %"), rounded down as the services do. */
export function percent(bp: number): string {
  return `${(Math.floor(bp / 10) / 10).toFixed(1)} %`;
}

/** Who sees what on the callbacks page (intake's role table). */
export const CALLBACKS = {
  /** The due list (ListTickets). */
  read: INTAKE.read,
  /** RecordCallback, on a due ticket (the same rule as the ticket page's action). */
  record: INTAKE.callback,
  /** GetCallbackCoverage: the month's coverage and the mandatory cases missing. */
  coverage: ["supervisor", "estate_manager", "quality_inspector", "group_admin"] as Role[],
};

export function canSeeCoverage(roles: readonly Role[]): boolean {
  return hasAny(roles, CALLBACKS.coverage);
}
