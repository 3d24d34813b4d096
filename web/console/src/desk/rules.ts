// The desk's rules, as plain functions of a ticket and the caller: which actions to offer
// (the services' state machine, services/intake/ticket.cc CanMove, and the role table of
// docs/api/intake.md), the queue's order and its state groups. No I/O.
import { TicketState } from "@wuye/clients/gen/wuye/events/v1/intake_events_pb.js";
import { TicketKind } from "@wuye/clients/gen/wuye/common/v1/domain_pb.js";
import { INTAKE, hasAny, type Role } from "../roles";

export type TicketAction = "answer" | "resolve" | "close" | "cancel" | "transfer" | "reopen" | "callback";

/** Kinds that become work orders (dispatch) and are resolved by them. */
export function needsWork(kind: TicketKind): boolean {
  return (
    kind === TicketKind.REPAIR_UNIT ||
    kind === TicketKind.REPAIR_COMMON ||
    kind === TicketKind.PAID_SERVICE ||
    kind === TicketKind.ELDERCARE_REQUEST ||
    kind === TicketKind.EMERGENCY
  );
}

/** Kinds that are answered rather than resolved. */
export function answerable(kind: TicketKind): boolean {
  return kind === TicketKind.CONSULTATION || kind === TicketKind.SUGGESTION || kind === TicketKind.PRAISE;
}

export interface Caller {
  staffId: string;
  roles: readonly Role[];
}

export interface TicketLike {
  kind: TicketKind;
  state: TicketState;
  ownerId: string;
}

const OPEN_STATES = [TicketState.RECEIVED, TicketState.DISPATCHED, TicketState.IN_PROGRESS, TicketState.REOPENED];

/** The actions the caller may take on the ticket now, in the order they are offered. */
export function allowedActions(t: TicketLike, caller: Caller): TicketAction[] {
  const out: TicketAction[] = [];
  const ownerOrSupervisor = t.ownerId === caller.staffId || hasAny(caller.roles, INTAKE.ownerOr);
  const complaint = t.kind === TicketKind.COMPLAINT;
  if (ownerOrSupervisor) {
    if (t.state === TicketState.RECEIVED && answerable(t.kind)) out.push("answer");
    const resolvable =
      t.state === TicketState.REOPENED || (OPEN_STATES.includes(t.state) && !needsWork(t.kind) && !answerable(t.kind));
    if (resolvable) out.push("resolve");
    if (t.state === TicketState.ANSWERED) out.push("close");
  }
  if (t.state === TicketState.CALLBACK_DUE && hasAny(caller.roles, INTAKE.callback)) out.push("callback");
  const transferable = OPEN_STATES.includes(t.state) || t.state === TicketState.ANSWERED || t.state === TicketState.CALLBACK_DUE;
  if (transferable && hasAny(caller.roles, INTAKE.transfer)) out.push("transfer");
  if (t.state === TicketState.CLOSED && hasAny(caller.roles, INTAKE.reopen)) out.push("reopen");
  if (ownerOrSupervisor && !complaint && (OPEN_STATES.includes(t.state) || t.state === TicketState.ANSWERED))
    out.push("cancel");
  return out;
}

/** The queue's tabs: what waits for the desk, what is being worked, what waits for a call, what is done. */
export const QUEUE_GROUPS = {
  waiting: [TicketState.RECEIVED, TicketState.REOPENED],
  working: [TicketState.DISPATCHED, TicketState.IN_PROGRESS, TicketState.RESOLVED],
  callback: [TicketState.CALLBACK_DUE],
  done: [TicketState.ANSWERED, TicketState.CLOSED, TicketState.CANCELLED],
} as const;
export type QueueGroup = keyof typeof QUEUE_GROUPS;

export interface Queued {
  overdue: boolean;
  answerDueMs?: number;
  receivedMs: number;
}

/** Overdue first (the longest late first), then the oldest received: the desk works from the top. */
export function queueOrder(a: Queued, b: Queued): number {
  if (a.overdue !== b.overdue) return a.overdue ? -1 : 1;
  if (a.overdue && b.overdue) return (a.answerDueMs ?? 0) - (b.answerDueMs ?? 0);
  return a.receivedMs - b.receivedMs;
}

/** Open tickets that count as "the same matter" for the new-request warning. */
export const OPEN_FOR_WARNING = OPEN_STATES;
