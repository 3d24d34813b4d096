// The dispatch board's rules, as plain functions of a work order, the caller and the time:
// which actions to offer (dispatch's state machine, services/dispatch/work_order.cc
// CheckMove and its steps, and the role table of docs/api/dispatch.md as
// services/dispatch/dispatch_service.cc enforces it), the SLA state of an order and its
// countdown, and the board's order. No I/O; the clock is passed in. The deadlines are
// dispatch's own (sla_deadline, sla_warn_time: computed by the service in the estate's zone,
// DOMAIN.md §3); the console never computes a deadline, it only counts down to it.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { WorkOrderState } from "@wuye/clients/gen/wuye/events/v1/dispatch_events_pb.js";
import { Priority } from "@wuye/clients/gen/wuye/common/v1/domain_pb.js";
import { PauseState, SignOff } from "@wuye/clients/gen/wuye/dispatch/v1/dispatch_pb.js";
import type { Role } from "../roles";

const S = WorkOrderState;

/** "Managers" and "field staff" as docs/api/dispatch.md names them. */
export const MANAGERS: readonly Role[] = ["team_lead", "supervisor", "estate_manager", "group_admin"];
export const FIELD: readonly Role[] = ["technician", "cleaner", "gardener", "security_guard", "care_worker"];

/** Dispatch's role table (docs/api/dispatch.md, "Methods and who may call them"). */
export const DISPATCH = {
  read: [...MANAGERS, "agent", ...FIELD, "quality_inspector"] as readonly Role[],
  create: [...MANAGERS, "agent"] as readonly Role[],
  /** AssignWorkOrder, by hand or automatic. */
  assign: MANAGERS,
  /** ExplainAssignment. */
  explain: MANAGERS,
  /** Accept, decline, progress, sign, complete: their own orders (an active worker). */
  field: FIELD,
  /** AgreePrice: besides the order's own workers. */
  agreePrice: [...MANAGERS, "agent"] as readonly Role[],
  /** CompleteWorkOrder of a SIGN_OFF_CHECK order: the check. */
  check: [...MANAGERS, "quality_inspector"] as readonly Role[],
  /** CompleteWorkOrder without_signature (a SIGN_OFF_RESIDENT order), with a reason. */
  waive: ["supervisor", "estate_manager", "group_admin"] as readonly Role[],
  cancel: [...MANAGERS, "agent"] as readonly Role[],
  /** PauseWorkOrder and ResumeWorkOrder: besides the order's own field staff (issue 27 §2). */
  pause: [...MANAGERS, "agent"] as readonly Role[],
  /** DecidePause: approve or refuse a pause asked without the resident's agreement. */
  decidePause: ["supervisor", "estate_manager"] as readonly Role[],
} as const;

export type OrderAction =
  | "assign"
  | "autoAssign"
  | "accept"
  | "decline"
  | "agreePrice"
  | "enRoute"
  | "onSite"
  | "workDone"
  | "sign"
  | "complete"
  | "completeWithoutSignature"
  | "check"
  | "cancel"
  | "pause"
  | "resume"
  | "decidePause";

/** The state each action moves the order to (the same state: it stays). */
export const ACTION_TARGET: Record<OrderAction, WorkOrderState | "same"> = {
  assign: "same", // WAITING → ASSIGNED, else it stays (workers are added)
  autoAssign: S.ASSIGNED,
  accept: "same", // ASSIGNED → ACCEPTED on the first acceptance, else it stays
  decline: "same", // declined by all → WAITING
  agreePrice: "same",
  enRoute: S.EN_ROUTE,
  onSite: S.ON_SITE,
  workDone: S.WORK_DONE,
  sign: S.SIGNED,
  complete: S.COMPLETED,
  completeWithoutSignature: S.COMPLETED,
  check: S.COMPLETED,
  cancel: S.CANCELLED,
  pause: "same",
  resume: "same",
  decidePause: "same",
};

export interface Caller {
  staffId: string;
  roles: readonly Role[];
}

export interface WorkerLike {
  staffId: string;
  acceptedAt?: Timestamp;
  declinedAt?: Timestamp;
}

export interface OrderLike {
  state: WorkOrderState;
  signOff: SignOff;
  paid: boolean;
  priceAgreement?: unknown;
  workers: readonly WorkerLike[];
  /** The SLA clock (issue 27): its name, stopped for good, stopped by a pause, and the pauses. */
  slaClock?: string;
  slaStopped?: boolean;
  slaPaused?: boolean;
  pauses?: readonly { state: PauseState }[];
}

const hasAny = (roles: readonly Role[], allowed: readonly Role[]) => roles.some((r) => allowed.includes(r));
const has = (ts: Timestamp | undefined) => !!ts && (ts.seconds !== 0n || ts.nanos !== 0);

/** Open states before the work is done: assignable, cancellable. */
export const BEFORE_WORK_DONE: readonly WorkOrderState[] = [S.WAITING, S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE];
/** Every state that is not over. */
export const OPEN_STATES: readonly WorkOrderState[] = [...BEFORE_WORK_DONE, S.WORK_DONE, S.SIGNED];
export const DONE_STATES: readonly WorkOrderState[] = [S.COMPLETED, S.CANCELLED];

/** The caller's assignment on the order, when they are on it and have not declined. */
export function myAssignment(o: OrderLike, staffId: string): WorkerLike | undefined {
  return o.workers.find((w) => w.staffId === staffId && !has(w.declinedAt));
}

/** Workers still on the order (assigned and not declined). */
export function activeWorkers(o: OrderLike): WorkerLike[] {
  return o.workers.filter((w) => !has(w.declinedAt));
}

/** A resident signs it (work in a unit); else it ends on a check. Unspecified: as the service, a resident's. */
export function residentSigns(o: OrderLike): boolean {
  return o.signOff !== SignOff.CHECK;
}

/** The actions the caller may take on the order now, in the order they are offered. */
export function allowedActions(o: OrderLike, c: Caller): OrderAction[] {
  const out: OrderAction[] = [];
  const manager = hasAny(c.roles, MANAGERS);
  const field = hasAny(c.roles, FIELD);
  const mine = myAssignment(o, c.staffId);
  // An active worker of the order, in a role that works orders.
  const worker = !!mine && (field || manager);
  const accepted = !!mine && has(mine.acceptedAt);
  const s = o.state;

  // Accept / decline: the assignee, before accepting (a manager may act for a worker; the
  // console offers it to the worker only).
  if (worker && !accepted && [S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE].includes(s)) out.push("accept");
  if (worker && !accepted && BEFORE_WORK_DONE.includes(s)) out.push("decline");
  // 004_…, 5.1.3: the resident agrees the price of paid work before anyone sets out.
  const agreed = !o.paid || !!o.priceAgreement;
  if (o.paid && !o.priceAgreement && [S.WAITING, S.ASSIGNED, S.ACCEPTED].includes(s)) {
    if (hasAny(c.roles, DISPATCH.agreePrice) || (field && !!mine)) out.push("agreePrice");
  }
  // Progress: a worker who accepted, or a manager; a paid order only once its price is agreed.
  const progresses = (manager || (field && accepted)) && agreed;
  if (progresses) {
    if (s === S.ACCEPTED) out.push("enRoute");
    if (s === S.ACCEPTED || s === S.EN_ROUTE) out.push("onSite");
    if (s === S.ON_SITE) out.push("workDone");
  }
  // 000_…, 二.5: work in a unit is signed by its resident, then completed; no signature, no
  // completion, unless a supervisor (or above) completes it without one, with a reason.
  const onOrder = manager || (field && !!mine);
  if (residentSigns(o)) {
    if (s === S.WORK_DONE && onOrder) out.push("sign");
    if (s === S.SIGNED && onOrder) out.push("complete");
    if (s === S.WORK_DONE && hasAny(c.roles, DISPATCH.waive)) out.push("completeWithoutSignature");
  } else if ((s === S.WORK_DONE || s === S.SIGNED) && hasAny(c.roles, DISPATCH.check)) {
    out.push("check");
  }
  if (manager && BEFORE_WORK_DONE.includes(s)) out.push("assign");
  if (manager && s === S.WAITING) out.push("autoAssign");
  if (hasAny(c.roles, DISPATCH.cancel) && BEFORE_WORK_DONE.includes(s)) out.push("cancel");
  // Issue 27 §2: a running clock pauses (with the resident's agreement, or asked of a
  // supervisor) and a paused one resumes, by the order's field staff, managers and agents;
  // a pause asked without agreement is decided by a supervisor or the estate manager.
  const pauses = hasAny(c.roles, DISPATCH.pause) || (field && !!mine);
  const requested = (o.pauses ?? []).some((p) => p.state === PauseState.REQUESTED);
  // 004_…, 5.2.5: an emergency's minutes to be on site do not pause (EMERGENCY_NOT_PAUSABLE).
  const pausable = o.slaClock !== "on_site";
  if (pauses && pausable && BEFORE_WORK_DONE.includes(s) && !o.slaStopped && !o.slaPaused && !requested) out.push("pause");
  if (pauses && o.slaPaused) out.push("resume");
  if (requested && hasAny(c.roles, DISPATCH.decidePause)) out.push("decidePause");
  return out;
}

// -- SLA ------------------------------------------------------------------------------------

/** Where an order's clock stands: past its deadline, past its warning (80 % of the window), before it, or stopped. */
export type SlaState = "overdue" | "dueSoon" | "onTime" | "paused" | "stopped";
export const SLA_COLUMNS: readonly SlaState[] = ["overdue", "dueSoon", "onTime", "paused", "stopped"];

export interface SlaLike {
  slaClock: string;
  slaDeadline?: Timestamp;
  slaWarnTime?: Timestamp;
  slaStopped: boolean;
  slaBreached: boolean;
  /** A pause stopped the clock (issue 27 §2): its deadline waits until it resumes. */
  slaPaused?: boolean;
}

export function ms(ts: Timestamp | undefined): number | undefined {
  return has(ts) ? Number(ts!.seconds) * 1000 + Math.floor(ts!.nanos / 1e6) : undefined;
}

/**
 * The order's SLA state at `nowMs`, from dispatch's own deadline and warning time (it
 * fires its warning at warn time and its breach at the deadline, services/dispatch
 * work_order.cc SlaDue): overdue once the deadline passed (or dispatch recorded a breach),
 * due soon once the warning time passed, on time before; paused while a pause holds the
 * clock (issue 27 §2: no warning or breach fires then); stopped when the clock stopped (on
 * site for an emergency or a big job, work done for the others) or there is none.
 */
export function slaState(o: SlaLike, nowMs: number): SlaState {
  const deadline = ms(o.slaDeadline);
  if (!o.slaClock || o.slaStopped || deadline === undefined) return "stopped";
  if (o.slaPaused) return "paused";
  if (o.slaBreached || nowMs >= deadline) return "overdue";
  const warn = ms(o.slaWarnTime);
  if (warn !== undefined && nowMs >= warn) return "dueSoon";
  return "onTime";
}

export interface Countdown {
  /** Past the deadline. */
  late: boolean;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

/** Time left to the deadline (or past it), in whole seconds: counts down every second. */
export function countdown(deadlineMs: number, nowMs: number): Countdown {
  const diff = deadlineMs - nowMs;
  const late = diff <= 0;
  // Whole seconds: left rounds up (1.2 s left shows 00:00:02), late rounds down.
  let s = late ? Math.floor(-diff / 1000) : Math.ceil(diff / 1000);
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  return { late, days, hours, minutes, seconds: s - minutes * 60 };
}

/** "2天 03:04:05", "03:04:05" (hours, minutes, seconds; days when there are). */
export function formatCountdown(c: Countdown, dayWord: string): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const hms = `${p(c.hours)}:${p(c.minutes)}:${p(c.seconds)}`;
  return c.days > 0 ? `${c.days}${dayWord} ${hms}` : hms;
}

// -- the board's order --------------------------------------------------------------------

export interface BoardLike extends SlaLike {
  id: string;
  priority: Priority;
  escalationLevel: number;
  createTime?: Timestamp;
}

/** Emergencies first, then small jobs, big jobs, scheduled work; unspecified last. */
export function priorityRank(p: Priority): number {
  switch (p) {
    case Priority.EMERGENCY:
      return 0;
    case Priority.SMALL:
      return 1;
    case Priority.BIG:
      return 2;
    case Priority.SCHEDULED:
      return 3;
    default:
      return 4;
  }
}

/**
 * Within a column: the nearest deadline first (overdue: the longest late first), then the
 * higher priority, the higher escalation, the oldest. A stopped clock has no deadline to
 * chase: priority first there, then the oldest.
 */
export function boardOrder(a: BoardLike, b: BoardLike): number {
  const da = a.slaStopped ? undefined : ms(a.slaDeadline);
  const db = b.slaStopped ? undefined : ms(b.slaDeadline);
  if (da !== undefined && db !== undefined && da !== db) return da - db;
  if ((da === undefined) !== (db === undefined)) return da === undefined ? 1 : -1;
  const pr = priorityRank(a.priority) - priorityRank(b.priority);
  if (pr) return pr;
  if (a.escalationLevel !== b.escalationLevel) return b.escalationLevel - a.escalationLevel;
  const ca = ms(a.createTime) ?? 0;
  const cb = ms(b.createTime) ?? 0;
  if (ca !== cb) return ca - cb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The open orders in the board's columns, each column in boardOrder. */
export function boardColumns<T extends BoardLike>(orders: readonly T[], nowMs: number): Record<SlaState, T[]> {
  const out: Record<SlaState, T[]> = { overdue: [], dueSoon: [], onTime: [], paused: [], stopped: [] };
  for (const o of orders) out[slaState(o, nowMs)].push(o);
  for (const k of SLA_COLUMNS) out[k].sort(boardOrder);
  return out;
}

/** How many of each priority (emergency, small, big, scheduled), for a column's head. */
export function countByPriority(orders: readonly { priority: Priority }[]): { priority: Priority; count: number }[] {
  const all = [Priority.EMERGENCY, Priority.SMALL, Priority.BIG, Priority.SCHEDULED];
  return all.map((priority) => ({ priority, count: orders.filter((o) => o.priority === priority).length })).filter((x) => x.count > 0);
}

/** Escalation levels (docs/api/dispatch.md): 1 team lead, 2 supervisor, 3 estate manager. */
export function escalatedTo(level: number): Role | undefined {
  return level === 1 ? "team_lead" : level === 2 ? "supervisor" : level >= 3 ? "estate_manager" : undefined;
}

// -- the assignment's explanation ------------------------------------------------------------

export interface CandidateLike {
  staffId: string;
  openOrders: number;
  lastAssignedTime?: Timestamp;
  rank: number;
}

export type Why =
  | { kind: "nobody" }
  | { kind: "byHand"; staffId: string }
  | { kind: "only" | "fewest" | "tieRecent" | "tieId"; staffId: string; open: number; n: number };

/**
 * Why dispatch chose whom it chose, read from its decision as its ranking makes it
 * (services/dispatch/work_order.cc ChooseWorker): fewest open orders, then the least
 * recently assigned (never assigned first), then id.
 */
export function explainDecision(d: { automatic: boolean; chosenStaffId: string; candidates: readonly CandidateLike[] }): Why {
  if (!d.automatic) return { kind: "byHand", staffId: d.chosenStaffId };
  const ranked = [...d.candidates].sort((a, b) => a.rank - b.rank);
  if (!d.chosenStaffId || ranked.length === 0) return { kind: "nobody" };
  const best = ranked[0];
  const base = { staffId: d.chosenStaffId, open: best.openOrders, n: ranked.length };
  if (ranked.length === 1) return { kind: "only", ...base };
  const next = ranked[1];
  if (next.openOrders !== best.openOrders) return { kind: "fewest", ...base };
  return { kind: ms(next.lastAssignedTime) === ms(best.lastAssignedTime) ? "tieId" : "tieRecent", ...base };
}

/**
 * Why dispatch escalated, from the reason it records (services/dispatch/work_order.cc
 * EscalationDue): nobody to take it, not accepted in time, close to its deadline.
 */
export function escalationCause(reason: string): { cause: "waiting" | "notAccepted" | "nearDeadline" | "other"; minutes?: number } {
  if (reason.startsWith("waiting")) return { cause: "waiting" };
  const m = /^not accepted within (\d+) minutes/.exec(reason);
  if (m) return { cause: "notAccepted", minutes: Number(m[1]) };
  if (reason.startsWith("close to its SLA deadline")) return { cause: "nearDeadline" };
  return { cause: "other" };
}

/**
 * The instant a wall-clock time "YYYY-MM-DD HH:mm" names in an IANA zone (the estate's): the
 * time a resident asked to be visited again (a pause's resume_by). undefined for text that is
 * not such a time. A wall time a daylight-saving change skips is moved forward by the gap
 * (02:30 on a spring-forward night is 03:30); one it repeats is the first of the two.
 */
export function instantIn(zone: string, wall: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})$/.exec(wall.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi] = m.slice(1).map(Number);
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  const back = new Date(asUtc);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59) {
    return undefined;
  }
  // The zone's offset at an instant: its wall time there, read as UTC, minus the instant.
  const offset = (at: number) => {
    const p = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(at));
    const get = (type: string) => Number(p.find((x) => x.type === type)?.value);
    return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - at;
  };
  // The offsets a day either side; the wall time in one of them is the instant, the earlier
  // when both are (a fall-back hour twice); in a spring gap, neither: the offset before it,
  // which moves the time forward by the gap.
  const day = 86_400_000;
  const before = offset(asUtc - day);
  const after = offset(asUtc + day);
  const t1 = asUtc - before;
  const t2 = asUtc - after;
  if (offset(t1) === before) return new Date(Math.min(t1, offset(t2) === after ? t2 : t1));
  if (offset(t2) === after) return new Date(t2);
  return new Date(t1);
}
