// The dispatch board's pure rules (src/dispatch/rules.ts), no browser: every action offered,
// for every state, sign-off, price and caller, is a call dispatch accepts — its state machine
// (services/dispatch/work_order.cc CheckMove, Accept, Decline, Progress, Sign, Complete,
// AgreePrice, Assign, Cancel, copied below) and its role table (docs/api/dispatch.md, as
// services/dispatch/dispatch_service.cc enforces it) — and every call it accepts is offered
// (but for the few the console leaves out on purpose, named below). Then the SLA states and
// countdowns, the board's order, the assignment's explanation and the escalation causes.
import { expect, test } from "@playwright/test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { WorkOrderState } from "@wuye/clients/gen/wuye/events/v1/dispatch_events_pb.js";
import { Priority } from "@wuye/clients/gen/wuye/common/v1/domain_pb.js";
import { AssignmentDecisionSchema, PauseState, SignOff, WorkOrderSchema, type WorkOrder } from "@wuye/clients/gen/wuye/dispatch/v1/dispatch_pb.js";
import {
  ACTION_TARGET,
  allowedActions,
  boardColumns,
  boardOrder,
  countByPriority,
  countdown,
  escalatedTo,
  escalationCause,
  explainDecision,
  formatCountdown,
  slaState,
  type OrderAction,
  type OrderLike,
  instantIn,
} from "../src/dispatch/rules";
import type { Role } from "../src/roles";

const S = WorkOrderState;

// -- dispatch, as the service decides (a model of the code, for the calls the console makes) --

// work_order.cc CheckMove: from → the states it may move to.
const MOVES: Record<number, WorkOrderState[]> = {
  [S.WAITING]: [S.ASSIGNED, S.CANCELLED],
  [S.ASSIGNED]: [S.ASSIGNED, S.ACCEPTED, S.WAITING, S.CANCELLED],
  [S.ACCEPTED]: [S.ACCEPTED, S.EN_ROUTE, S.ON_SITE, S.CANCELLED],
  [S.EN_ROUTE]: [S.EN_ROUTE, S.ON_SITE, S.CANCELLED],
  [S.ON_SITE]: [S.ON_SITE, S.WORK_DONE, S.CANCELLED],
  [S.WORK_DONE]: [S.SIGNED, S.COMPLETED],
  [S.SIGNED]: [S.COMPLETED],
};
const canMove = (from: WorkOrderState, to: WorkOrderState) => (MOVES[from] ?? []).includes(to);
const isOpen = (s: WorkOrderState) => s !== S.COMPLETED && s !== S.CANCELLED && s !== S.UNSPECIFIED;

const MANAGERS: Role[] = ["team_lead", "supervisor", "estate_manager", "group_admin"];
const FIELD: Role[] = ["technician", "cleaner", "gardener", "security_guard", "care_worker"];
const any = (roles: Role[], allowed: Role[]) => roles.some((r) => allowed.includes(r));

interface Caller {
  name: string;
  staffId: string;
  roles: Role[];
}

/** Whether dispatch accepts the call the console makes for `a` (caller's own staff id; managers progress as "" ). */
function serviceAccepts(a: OrderAction, o: OrderLike, c: Caller): boolean {
  const manager = any(c.roles, MANAGERS);
  const workerOrManager = any(c.roles, [...MANAGERS, ...FIELD]);
  const mine = o.workers.find((w) => w.staffId === c.staffId);
  const active = !!mine && !mine.declinedAt;
  const accepted = active && !!mine!.acceptedAt;
  const resident = o.signOff !== SignOff.CHECK;
  const s = o.state;
  switch (a) {
    case "accept": // RequireWorkerOrManager; WorkerOf(staff_id = me); Accept
      return workerOrManager && active && !accepted && [S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE].includes(s);
    case "decline": // ... Decline: open, not WORK_DONE/SIGNED, assigned and not accepted
      return workerOrManager && active && !accepted && isOpen(s) && s !== S.WORK_DONE && s !== S.SIGNED;
    case "agreePrice": {
      // RequireRole(managers, agent, field); desk or an active worker; AgreePrice: paid, before the work starts.
      if (!any(c.roles, [...MANAGERS, "agent", ...FIELD])) return false;
      if (!(manager || c.roles.includes("agent")) && !active) return false;
      return o.paid && [S.WAITING, S.ASSIGNED, S.ACCEPTED].includes(s);
    }
    case "enRoute":
    case "onSite":
    case "workDone": {
      const to = ACTION_TARGET[a] as WorkOrderState;
      if (!workerOrManager) return false;
      if (s === to || !canMove(s, to)) return false;
      if (o.paid && !o.priceAgreement) return false; // PRICE_NOT_AGREED (004_…, 5.1.3)
      if (!manager && !accepted) return false; // NOT_ACCEPTED
      return true;
    }
    case "sign": // the order's workers, managers; SIGN_OFF_RESIDENT after WORK_DONE (000_…, 二.5)
      return workerOrManager && (manager || active) && resident && canMove(s, S.SIGNED);
    case "complete":
    case "completeWithoutSignature":
    case "check": {
      const without = a === "completeWithoutSignature";
      // One call, two names: "check" completes an order that ends on a check, "complete" a signed one.
      if ((a === "check") === resident && !without) return false;
      if (!any(c.roles, [...MANAGERS, "quality_inspector", ...FIELD])) return false;
      const mayWaive = any(c.roles, ["supervisor", "estate_manager", "group_admin"]);
      const mayCheck = any(c.roles, [...MANAGERS, "quality_inspector"]);
      const checker = !resident && mayCheck;
      if (!manager && !checker && !active) return false;
      if (without && !mayWaive && resident) return false;
      if (!canMove(s, S.COMPLETED)) return false;
      if (!resident) return !without && mayCheck;
      if (s === S.WORK_DONE) return without && mayWaive; // SIGNATURE_REQUIRED without a signature
      return !without; // signed: ALREADY_SIGNED
    }
    case "cancel":
      return any(c.roles, [...MANAGERS, "agent"]) && canMove(s, S.CANCELLED);
    case "assign": // by hand, a staff member not on the order yet
      return manager && canMove(s, s === S.WAITING ? S.ASSIGNED : s);
    case "autoAssign":
      return manager && canMove(s, s === S.WAITING ? S.ASSIGNED : s);
    // Issue 27 §2 (dispatch_service.cc RequirePauser, IsDesk, IsActiveWorker; work_order.cc
    // NOT_PAUSABLE, SLA_STOPPED, ALREADY_PAUSED, PAUSE_REQUESTED, NOT_PAUSED, NO_PAUSE_REQUESTED,
    // EMERGENCY_NOT_PAUSABLE: 004_…, 5.2.5, an emergency's minutes to be on site).
    case "pause":
    case "resume": {
      if (!any(c.roles, [...MANAGERS, "agent", ...FIELD])) return false;
      if (!any(c.roles, [...MANAGERS, "agent"]) && !active) return false;
      const requested = (o.pauses ?? []).some((p) => p.state === PauseState.REQUESTED);
      if (a === "resume") return !!o.slaPaused;
      return [S.WAITING, S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE].includes(s) && !o.slaStopped && !o.slaPaused && !requested && o.slaClock !== "on_site";
    }
    case "decidePause":
      return any(c.roles, ["supervisor", "estate_manager"]) && (o.pauses ?? []).some((p) => p.state === PauseState.REQUESTED);
  }
}

/** Calls dispatch accepts that the console does not offer, on purpose. */
function leftOut(a: OrderAction, o: OrderLike): boolean {
  // The price is agreed once; agreeing again (allowed) is not offered.
  if (a === "agreePrice" && o.priceAgreement) return true;
  // Automatic assignment is offered to a waiting order only (else: adds a second worker).
  if (a === "autoAssign" && o.state !== S.WAITING) return true;
  return false;
}

// -- the cases ------------------------------------------------------------------------------

const states = Object.values(S).filter((v): v is WorkOrderState => typeof v === "number" && v !== 0);
const actions = Object.keys(ACTION_TARGET) as OrderAction[];
const at = (ms: number) => timestampFromMs(ms);
const T0 = Date.UTC(2026, 11, 6, 1, 0, 0); // 09:00 in Asia/Shanghai

const callers: Caller[] = [
  { name: "the technician on the order", staffId: "tech", roles: ["technician"] },
  { name: "another technician", staffId: "other", roles: ["technician"] },
  { name: "a cleaner on the order", staffId: "tech", roles: ["cleaner"] },
  { name: "a team lead", staffId: "lead", roles: ["team_lead", "agent"] },
  { name: "a supervisor", staffId: "sup", roles: ["supervisor"] },
  { name: "an estate manager", staffId: "mgr", roles: ["estate_manager"] },
  { name: "a group admin", staffId: "adm", roles: ["group_admin"] },
  { name: "an agent", staffId: "agent", roles: ["agent"] },
  { name: "a quality inspector", staffId: "qi", roles: ["quality_inspector"] },
  { name: "a finance clerk", staffId: "fin", roles: ["finance_clerk"] },
];

type Workers = "none" | "assigned" | "accepted" | "declined" | "someoneElse";
/** The SLA clock: running, paused, a pause waiting for a supervisor, stopped for good, or an
 * emergency's minutes to be on site running (004_…, 5.2.5: they do not pause). */
type Clock = "running" | "paused" | "requested" | "stopped" | "onSite";
function order(
  state: WorkOrderState,
  signOff: SignOff,
  price: "unpaid" | "toAgree" | "agreed",
  workers: Workers,
  clock: Clock = "running",
): WorkOrder {
  const w = {
    none: [],
    assigned: [{ staffId: "tech", assignedAt: at(T0) }],
    accepted: [{ staffId: "tech", assignedAt: at(T0), acceptedAt: at(T0 + 60_000) }],
    declined: [{ staffId: "tech", assignedAt: at(T0), declinedAt: at(T0 + 60_000), declineReason: "sick" }],
    someoneElse: [{ staffId: "other2", assignedAt: at(T0), acceptedAt: at(T0 + 60_000) }],
  }[workers];
  return create(WorkOrderSchema, {
    id: "o",
    state,
    signOff,
    paid: price !== "unpaid",
    serviceItemCode: price !== "unpaid" ? "CLEAN-2H" : "",
    priceAgreement: price === "agreed" ? { residentId: "r", quoteFen: 8000n } : undefined,
    workers: w,
    slaClock: clock === "onSite" ? "on_site" : "fixed",
    slaStopped: clock === "stopped",
    slaPaused: clock === "paused",
    pauses:
      clock === "paused"
        ? [{ id: "p", state: PauseState.ACTIVE }]
        : clock === "requested"
          ? [{ id: "p", state: PauseState.REQUESTED }]
          : [],
  });
}

test("every action offered is a call dispatch accepts, and every call it accepts is offered (000_…, 二.5; 004_…, 5.1.3)", () => {
  let checked = 0;
  for (const state of states) {
    for (const signOff of [SignOff.RESIDENT, SignOff.CHECK, SignOff.UNSPECIFIED]) {
      for (const price of ["unpaid", "toAgree", "agreed"] as const) {
        for (const workers of ["none", "assigned", "accepted", "declined", "someoneElse"] as const) {
          for (const clock of ["running", "paused", "requested", "stopped", "onSite"] as const) {
          const o = order(state, signOff, price, workers, clock);
          for (const c of callers) {
            const offered = allowedActions(o, c);
            const where = `${S[state]} ${SignOff[signOff]} ${price} ${workers} ${clock}, ${c.name}: [${offered.join(",")}]`;
            if (new Set(offered).size !== offered.length) throw new Error(`${where}: an action twice`);
            for (const a of actions) {
              const accepts = serviceAccepts(a, o, c);
              if (offered.includes(a) && !accepts) throw new Error(`${where} offers ${a}, which dispatch refuses`);
              if (!offered.includes(a) && accepts && !leftOut(a, o)) throw new Error(`${where} does not offer ${a}, which dispatch accepts`);
              // The target of a move is a legal move.
              const to = ACTION_TARGET[a];
              if (offered.includes(a) && to !== "same" && !canMove(state, to)) throw new Error(`${where}: ${a} is no legal move`);
              checked++;
            }
          }
          }
        }
      }
    }
  }
  expect(checked).toBeGreaterThan(10_000);
});

test("what each person sees on a repair in a unit as it goes (the scenario's steps)", () => {
  const tech = { staffId: "tech", roles: ["technician"] as Role[] };
  const sup = { staffId: "sup", roles: ["supervisor"] as Role[] };
  const lead = { staffId: "lead", roles: ["team_lead"] as Role[] };
  const agent = { staffId: "agent", roles: ["agent"] as Role[] };
  const r = (s: WorkOrderState, w: Workers) => order(s, SignOff.RESIDENT, "unpaid", w);
  // Waiting: nobody on shift with the skill; a manager assigns, the agent may only cancel.
  expect(allowedActions(r(S.WAITING, "none"), sup)).toEqual(["assign", "autoAssign", "cancel", "pause"]);
  expect(allowedActions(r(S.WAITING, "none"), agent)).toEqual(["cancel", "pause"]);
  expect(allowedActions(r(S.WAITING, "none"), tech)).toEqual([]);
  // Assigned to the technician: accept or decline; another technician sees nothing to do.
  expect(allowedActions(r(S.ASSIGNED, "assigned"), tech)).toEqual(["accept", "decline", "pause"]);
  expect(allowedActions(r(S.ASSIGNED, "assigned"), { staffId: "other", roles: ["technician"] })).toEqual([]);
  // Accepted: en route or straight on site; then work done.
  expect(allowedActions(r(S.ACCEPTED, "accepted"), tech)).toEqual(["enRoute", "onSite", "pause"]);
  expect(allowedActions(r(S.EN_ROUTE, "accepted"), tech)).toEqual(["onSite", "pause"]);
  expect(allowedActions(r(S.ON_SITE, "accepted"), tech)).toEqual(["workDone", "pause"]);
  // Work done in a unit: the resident signs; no signature, no completion (000_…, 二.5) —
  // a supervisor may complete without it, a team lead may not.
  expect(allowedActions(r(S.WORK_DONE, "accepted"), tech)).toEqual(["sign"]);
  expect(allowedActions(r(S.WORK_DONE, "accepted"), sup)).toEqual(["sign", "completeWithoutSignature"]);
  expect(allowedActions(r(S.WORK_DONE, "accepted"), lead)).toEqual(["sign"]);
  expect(allowedActions(r(S.SIGNED, "accepted"), tech)).toEqual(["complete"]);
  expect(allowedActions(r(S.COMPLETED, "accepted"), sup)).toEqual([]);
  // A common-area job ends on a check, never by the worker alone nor with a signature.
  const common = order(S.WORK_DONE, SignOff.CHECK, "unpaid", "accepted");
  expect(allowedActions(common, tech)).toEqual([]);
  expect(allowedActions(common, { staffId: "qi", roles: ["quality_inspector"] })).toEqual(["check"]);
  expect(allowedActions(common, lead)).toEqual(["check"]);
  // Paid work (004_…, 5.1.3): the price agreed before anyone sets out.
  const paid = order(S.ACCEPTED, SignOff.RESIDENT, "toAgree", "accepted");
  expect(allowedActions(paid, tech)).toEqual(["agreePrice", "pause"]);
  expect(allowedActions(paid, agent)).toEqual(["agreePrice", "cancel", "pause"]);
  expect(allowedActions(order(S.ACCEPTED, SignOff.RESIDENT, "agreed", "accepted"), tech)).toEqual(["enRoute", "onSite", "pause"]);
  // Declined: the technician is off the order.
  expect(allowedActions(r(S.WAITING, "declined"), tech)).toEqual([]);
  // Issue 27 §2: a paused clock resumes (never a second pause); a pause asked without the
  // resident's agreement is decided by a supervisor or the estate manager, not the agent
  // nor a team lead.
  const paused = order(S.ACCEPTED, SignOff.RESIDENT, "unpaid", "accepted", "paused");
  expect(allowedActions(paused, tech)).toEqual(["enRoute", "onSite", "resume"]);
  const asked = order(S.ACCEPTED, SignOff.RESIDENT, "unpaid", "accepted", "requested");
  expect(allowedActions(asked, agent)).toEqual(["cancel"]);
  expect(allowedActions(asked, sup)).toEqual(["enRoute", "onSite", "assign", "cancel", "decidePause"]);
  expect(allowedActions(asked, lead)).not.toContain("decidePause");
  // An emergency on site: its clock stopped for good, nothing to pause.
  expect(allowedActions(order(S.ON_SITE, SignOff.RESIDENT, "unpaid", "accepted", "stopped"), tech)).toEqual(["workDone"]);
});

// -- SLA ------------------------------------------------------------------------------------

function clocked(deadline: number, warn: number, extra: Partial<WorkOrder> = {}): WorkOrder {
  return create(WorkOrderSchema, {
    id: extra.id ?? "o",
    slaClock: "fixed",
    slaDeadline: at(deadline),
    slaWarnTime: at(warn),
    priority: extra.priority ?? Priority.SMALL,
    escalationLevel: extra.escalationLevel ?? 0,
    createTime: extra.createTime ?? at(T0),
    slaStopped: extra.slaStopped ?? false,
    slaBreached: extra.slaBreached ?? false,
    slaPaused: extra.slaPaused ?? false,
  });
}

test("an order's SLA state follows dispatch's warning and deadline (DOMAIN.md §3: small problems fixed within 24 hours)", () => {
  // A small repair received at 09:00: due 24 h later, warned at 80 % of the window.
  const deadline = T0 + 24 * 3600_000;
  const warn = T0 + Math.round(0.8 * 24 * 3600_000);
  const o = clocked(deadline, warn);
  expect(slaState(o, T0)).toBe("onTime");
  expect(slaState(o, warn - 1)).toBe("onTime");
  expect(slaState(o, warn)).toBe("dueSoon"); // dispatch fires its warning at warn time
  expect(slaState(o, deadline - 1)).toBe("dueSoon");
  expect(slaState(o, deadline)).toBe("overdue"); // and its breach at the deadline
  // A breach dispatch recorded stands whatever this browser's clock says.
  expect(slaState(clocked(deadline, warn, { slaBreached: true }), T0)).toBe("overdue");
  // Stopped (on site for an emergency, work done for a small job): no countdown.
  expect(slaState(clocked(deadline, warn, { slaStopped: true }), deadline + 1)).toBe("stopped");
  expect(slaState(create(WorkOrderSchema, {}), T0)).toBe("stopped");
  // Paused (issue 27 §2): neither due soon nor overdue while the pause holds the clock,
  // whatever the deadline it had; dispatch computes a new one when it resumes.
  expect(slaState(clocked(deadline, warn, { slaPaused: true }), deadline + 1)).toBe("paused");
});

test("the countdown ticks each second, and past the deadline counts how late", () => {
  const deadline = T0 + 10 * 60_000; // an emergency's 10 minutes by day
  const c0 = countdown(deadline, T0);
  expect(c0).toEqual({ late: false, days: 0, hours: 0, minutes: 10, seconds: 0 });
  expect(formatCountdown(countdown(deadline, T0 + 1000), "天")).toBe("00:09:59");
  expect(formatCountdown(countdown(deadline, T0 + 1001), "天")).toBe("00:09:59");
  expect(formatCountdown(countdown(deadline, T0 + 1999), "天")).toBe("00:09:59");
  expect(formatCountdown(countdown(deadline, T0 + 2000), "天")).toBe("00:09:58");
  expect(countdown(deadline, deadline).late).toBe(true);
  expect(formatCountdown(countdown(deadline, deadline + 61_500), "天")).toBe("00:01:01");
  // A big job's 72 hours.
  expect(formatCountdown(countdown(T0 + 72 * 3600_000, T0 + 1000), "天")).toBe("2天 23:59:59");
  expect(formatCountdown(countdown(T0 + 72 * 3600_000, T0), "d")).toBe("3d 00:00:00");
});

test("the board: columns by SLA state, the nearest deadline first, then priority, escalation, age", () => {
  const h = 3600_000;
  const late = clocked(T0 - h, T0 - 2 * h, { id: "late" });
  const later = clocked(T0 - 2 * h, T0 - 3 * h, { id: "later" });
  const soon = clocked(T0 + h, T0 - 1, { id: "soon" });
  const fine = clocked(T0 + 20 * h, T0 + 16 * h, { id: "fine" });
  const emergencyTie = clocked(T0 + 20 * h, T0 + 16 * h, { id: "emergency", priority: Priority.EMERGENCY });
  const escalatedTie = clocked(T0 + 20 * h, T0 + 16 * h, { id: "escalated", escalationLevel: 2 });
  const stoppedBig = clocked(T0, T0, { id: "stoppedBig", slaStopped: true, priority: Priority.BIG });
  const stoppedEmergency = clocked(T0, T0, { id: "stoppedEmergency", slaStopped: true, priority: Priority.EMERGENCY });
  const cols = boardColumns([fine, stoppedBig, soon, late, escalatedTie, later, stoppedEmergency, emergencyTie], T0);
  const ids = (xs: WorkOrder[]) => xs.map((x) => x.id);
  expect(ids(cols.overdue)).toEqual(["later", "late"]);
  expect(ids(cols.dueSoon)).toEqual(["soon"]);
  expect(ids(cols.onTime)).toEqual(["emergency", "escalated", "fine"]);
  expect(ids(cols.stopped)).toEqual(["stoppedEmergency", "stoppedBig"]);
  expect(boardOrder(fine, fine)).toBe(0);
  expect(countByPriority(cols.onTime)).toEqual([
    { priority: Priority.EMERGENCY, count: 1 },
    { priority: Priority.SMALL, count: 2 },
  ]);
  // A second later nothing was read again, and "soon" is still due soon; an hour later it is overdue.
  expect(ids(boardColumns([soon], T0 + h).overdue)).toEqual(["soon"]);
});

// -- assignment and escalation ---------------------------------------------------------------

test("the assignment explained as dispatch ranks (fewest open orders, least recently assigned, id)", () => {
  const d = (automatic: boolean, chosen: string, cands: [string, number, number | undefined][]) =>
    create(AssignmentDecisionSchema, {
      automatic,
      chosenStaffId: chosen,
      candidates: cands.map(([staffId, openOrders, last], i) => ({
        staffId,
        openOrders,
        lastAssignedTime: last === undefined ? undefined : at(last),
        rank: i + 1,
      })),
    });
  expect(explainDecision(d(true, "", []))).toEqual({ kind: "nobody" });
  expect(explainDecision(d(true, "a", [["a", 2, T0]]))).toEqual({ kind: "only", staffId: "a", open: 2, n: 1 });
  expect(explainDecision(d(true, "a", [["a", 0, T0], ["b", 1, undefined]]))).toMatchObject({ kind: "fewest", open: 0, n: 2 });
  expect(explainDecision(d(true, "a", [["a", 1, undefined], ["b", 1, T0]]))).toMatchObject({ kind: "tieRecent" });
  expect(explainDecision(d(true, "a", [["a", 1, T0], ["b", 1, T0]]))).toMatchObject({ kind: "tieId" });
  expect(explainDecision(d(true, "a", [["a", 1, undefined], ["b", 1, undefined]]))).toMatchObject({ kind: "tieId" });
  expect(explainDecision(d(false, "x", []))).toEqual({ kind: "byHand", staffId: "x" });
});

test("escalations read as dispatch records them: level 1 team lead, 2 supervisor, 3 estate manager", () => {
  expect([1, 2, 3, 4].map(escalatedTo)).toEqual(["team_lead", "supervisor", "estate_manager", "estate_manager"]);
  expect(escalatedTo(0)).toBeUndefined();
  // The reasons of services/dispatch/work_order.cc EscalationDue.
  expect(escalationCause("waiting: nobody with the skill on shift, or declined by all")).toEqual({ cause: "waiting" });
  expect(escalationCause("not accepted within 15 minutes")).toEqual({ cause: "notAccepted", minutes: 15 });
  expect(escalationCause("close to its SLA deadline")).toEqual({ cause: "nearDeadline" });
  expect(escalationCause("something new")).toEqual({ cause: "other" });
});

test("a pause's resume-by is the estate's wall time: Shanghai, New York across its spring gap, bad text (issue 27 §2)", () => {
  // 2026-02-14 09:30 in Shanghai (UTC+8, no daylight saving) is 01:30 UTC.
  expect(instantIn("Asia/Shanghai", "2026-02-14 09:30")?.toISOString()).toBe("2026-02-14T01:30:00.000Z");
  // New York: 2026-03-07 is EST (UTC-5), 2026-03-09 EDT (UTC-4); 2026-03-08 02:30 does not
  // exist there (clocks go 02:00 → 03:00): moved forward by the gap, 03:30 EDT; 2026-11-01
  // 01:30 comes twice (EDT, then EST): the first.
  expect(instantIn("America/New_York", "2026-03-07 10:00")?.toISOString()).toBe("2026-03-07T15:00:00.000Z");
  expect(instantIn("America/New_York", "2026-03-09 10:00")?.toISOString()).toBe("2026-03-09T14:00:00.000Z");
  expect(instantIn("America/New_York", "2026-03-08 02:30")?.toISOString()).toBe("2026-03-08T07:30:00.000Z");
  expect(instantIn("America/New_York", "2026-11-01 01:30")?.toISOString()).toBe("2026-11-01T05:30:00.000Z");
  expect(instantIn("Asia/Shanghai", "2026-02-30 09:30")).toBeUndefined();
  expect(instantIn("Asia/Shanghai", "2026-02-14 24:00")).toBeUndefined();
  expect(instantIn("Asia/Shanghai", "tomorrow")).toBeUndefined();
});
