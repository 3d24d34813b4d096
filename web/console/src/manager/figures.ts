// 经理看板: the arithmetic of the manager's figures, the same as wuye-demo's end-of-day summary
// (tools/demo_day/reports.cc, Day::ReportsStep). Every figure comes from a service's own
// report RPC; where the demo counts by listing (tickets, work orders, due visits), these
// functions count the listing the same way. Plain functions on plain rows, no Vue and no
// client, tested in tests/manager-rules.spec.ts.
import type { Role } from "../roles";
import { formatFen } from "../money";

/** A day of the estate's calendar. */
export interface Day {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
}

/** "2026-12-05" → the day; anything else (or a day that does not exist) → undefined. */
export function parseDay(text: string | undefined | null): Day | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? "");
  if (!m) return undefined;
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const back = new Date(Date.UTC(d.year, d.month - 1, d.day));
  if (back.getUTCFullYear() !== d.year || back.getUTCMonth() !== d.month - 1 || back.getUTCDate() !== d.day) {
    return undefined;
  }
  return d;
}

export function dayText(d: Day): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.year, 4)}-${p(d.month)}-${p(d.day)}`;
}

/** The day n days later (earlier when n < 0), by the calendar. */
export function addDays(d: Day, n: number): Day {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** The day an instant (milliseconds since the epoch) falls on in the IANA zone. */
export function dayIn(ms: number, zone: string): Day {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day") };
}

export function sameDay(a: Day, b: Day): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

/** The month a day is in: the period of the monthly figures (common.v1.Month). */
export function monthOf(d: Day): { year: number; month: number } {
  return { year: d.year, month: d.month };
}

/**
 * Whether the page asks billing's ReportCollection for the day's month: only for the
 * estate's current month, the month wuye-demo reports. The call is not a pure read: before
 * the close it publishes a provisional report (performance scores it), and after the close
 * it fixes a month that was never billed at 100 % (docs/api/billing.md); a billed month is
 * fixed and published by billing itself at its close. So another month is not asked.
 */
export function asksCollection(day: Day, today: Day): boolean {
  return day.year === today.year && day.month === today.month;
}

/**
 * The due visits' horizon: wuye-demo reads ListDueVisits with as_of = today + 7 in the
 * estate's calendar (the care worker's coming week), whatever day the summary is of.
 */
export function visitsHorizon(today: Day): Day {
  return addDays(today, 7);
}

// ---------------------------------------------------------------------------------------
// Tickets of the day

/** A ticket as the figure needs it: its state's word ("ANSWERED") and when it was received. */
export interface TicketRow {
  state: string;
  receivedMs: number;
}

export interface TicketFigures {
  total: number;
  /** State word → count, in the order of TICKET_STATES; states with no ticket are absent. */
  byState: [string, number][];
}

/** intake's states in the order of the ticket's life (events.v1.TicketState). */
export const TICKET_STATES = [
  "RECEIVED",
  "ANSWERED",
  "DISPATCHED",
  "IN_PROGRESS",
  "RESOLVED",
  "CALLBACK_DUE",
  "CLOSED",
  "CANCELLED",
  "REOPENED",
] as const;

/**
 * The day's tickets by their state now: the tickets received on the day (the estate's
 * calendar) counted by state, as wuye-demo counts the day's tickets it made ("Tickets of
 * the day: 19 (answered 5, closed 12, …)"). The rows are the whole ListTickets of the
 * estate, every page, no state filter.
 */
export function ticketsOfDay(rows: readonly TicketRow[], day: Day, zone: string): TicketFigures {
  const counts = new Map<string, number>();
  let total = 0;
  for (const r of rows) {
    if (!sameDay(dayIn(r.receivedMs, zone), day)) continue;
    counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    total++;
  }
  const order = (s: string) => {
    const i = (TICKET_STATES as readonly string[]).indexOf(s);
    return i < 0 ? TICKET_STATES.length : i;
  };
  const byState = [...counts.entries()].sort((a, b) => order(a[0]) - order(b[0]) || a[0].localeCompare(b[0]));
  return { total, byState };
}

// ---------------------------------------------------------------------------------------
// SLA per priority (dispatch)

/** A work order as the figure needs it (dispatch's WorkOrder). */
export interface OrderRow {
  priority: string; // "EMERGENCY", "SMALL", "BIG", "SCHEDULED"
  receivedMs: number;
  slaMet: boolean;
  /** Met as if no pause had stopped the clock (dispatch's sla_met_unpaused, issue 27 §2). */
  slaMetUnpaused: boolean;
  slaBreached: boolean;
}

export interface SlaFigures {
  orders: number;
  /** Met counting the pauses (时效达标（计暂停）): the clock stopped while paused. */
  met: number;
  /** Met as if never paused (时效达标（不计暂停）), so that pausing cannot hide a miss. */
  metUnpaused: number;
  missed: number;
  open: number;
}

export const PRIORITIES = ["EMERGENCY", "SMALL", "BIG", "SCHEDULED"] as const;

/**
 * SLA met and missed per priority, wuye-demo's rule: a breached clock is missed (even if
 * the work was done after), else a met one is met, else the order is open. Of the orders
 * received on the day (the estate's calendar), from the whole ListWorkOrders of the estate.
 * Beside `met` (counting the pauses), `metUnpaused`: of those met, the ones met as if no
 * pause had stopped the clock (issue 27 §2: pausing cannot hide misses); `met − metUnpaused`
 * were met only thanks to a pause.
 */
export function slaPerPriority(rows: readonly OrderRow[], day: Day, zone: string): [string, SlaFigures][] {
  const by = new Map<string, SlaFigures>();
  for (const r of rows) {
    if (!sameDay(dayIn(r.receivedMs, zone), day)) continue;
    let f = by.get(r.priority);
    if (!f) by.set(r.priority, (f = { orders: 0, met: 0, metUnpaused: 0, missed: 0, open: 0 }));
    f.orders++;
    if (r.slaBreached) f.missed++;
    else if (r.slaMet) {
      f.met++;
      if (r.slaMetUnpaused) f.metUnpaused++;
    } else f.open++;
  }
  const order = (p: string) => {
    const i = (PRIORITIES as readonly string[]).indexOf(p);
    return i < 0 ? PRIORITIES.length : i;
  };
  return [...by.entries()].sort((a, b) => order(a[0]) - order(b[0]) || a[0].localeCompare(b[0]));
}

// ---------------------------------------------------------------------------------------
// Visits due (eldercare): counts only

/** ListDueVisits' rows reduced to what the dashboard shows: how many, how many overdue. */
export function visitsDue(visits: readonly { overdue: boolean }[]): { due: number; overdue: number } {
  return { due: visits.length, overdue: visits.filter((v) => v.overdue).length };
}

// ---------------------------------------------------------------------------------------
// Money and rates, as the services give them

/** Billing's collection target (9500 bp) and the arrears baseline (2500 bp, 000_… 二.10). */
export const COLLECTION_TARGET_BP = 9500;
export const ARREARS_BASELINE_BP = 2500;

/** Basis points as a percentage with two decimals: 9673 → "96.73%" (as wuye-demo prints). */
export function percent(bp: number): string {
  const sign = bp < 0 ? "-" : "";
  const a = Math.abs(Math.trunc(bp));
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}%`;
}

/** Fen as yuan with two decimals, exactly (int64 as bigint): 5682627n → "56826.27". */
export function yuan(fen: bigint): string {
  return formatFen(fen, false);
}

/** GetArrears' four buckets (0–30, 31–90, 91–180, over 180 days past due) and their sum, in fen. */
export interface ArrearsBuckets {
  days030Fen: bigint;
  days3190Fen: bigint;
  days91180Fen: bigint;
  daysOver180Fen: bigint;
}
export function arrearsTotal(a: ArrearsBuckets): bigint {
  return a.days030Fen + a.days3190Fen + a.days91180Fen + a.daysOver180Fen;
}

// ---------------------------------------------------------------------------------------
// Who reads which figure: the services' role tables (docs/api/<service>.md), for the four
// roles the page is for. A figure a role may not read is not shown.

export type Figure = "tickets" | "sla" | "coverage" | "hotline" | "collection" | "arrears" | "quality" | "visits";
export const FIGURES: readonly Figure[] = ["tickets", "sla", "coverage", "hotline", "collection", "arrears", "quality", "visits"];

export const FIGURE_ROLES: Record<Figure, readonly Role[]> = {
  // intake ListTickets: desk roles, estate_manager, quality_inspector, group_admin.
  tickets: ["agent", "team_lead", "supervisor", "estate_manager", "quality_inspector", "group_admin"],
  // dispatch ListWorkOrders: managers, agent, field staff, quality_inspector.
  sla: [
    "team_lead",
    "supervisor",
    "estate_manager",
    "group_admin",
    "agent",
    "technician",
    "cleaner",
    "gardener",
    "security_guard",
    "care_worker",
    "quality_inspector",
  ],
  // intake GetCallbackCoverage.
  coverage: ["supervisor", "estate_manager", "quality_inspector", "group_admin"],
  // intake GetHotlineReport (the 12345 month) and GetComplaintReplyReport: the same readers.
  hotline: ["supervisor", "estate_manager", "quality_inspector", "group_admin"],
  // billing ReportCollection.
  collection: ["group_admin", "estate_manager", "finance_clerk"],
  // billing GetArrears.
  arrears: ["group_admin", "estate_manager", "finance_clerk", "supervisor"],
  // performance GetQualityLedger: its managers.
  quality: ["group_admin", "estate_manager", "supervisor", "team_lead", "quality_inspector"],
  // eldercare ListDueVisits: front desk, estate_manager, care roles (not group_admin).
  visits: ["agent", "team_lead", "supervisor", "estate_manager", "nurse", "care_worker", "clinic"],
};

/** The figures these roles may read, in the page's order. */
export function figuresFor(roles: readonly Role[]): Figure[] {
  return FIGURES.filter((f) => FIGURE_ROLES[f].some((r) => roles.includes(r)));
}
