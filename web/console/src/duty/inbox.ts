// The live task inbox (值班) as plain functions: the merge of WatchTasks' updates into the
// rows on screen, their order, and the reconnect's backoff. No I/O (docs/console.md, 值班).
//
// The stream (docs/api/duty.md, WatchTasks) first sends the tasks open now (`initial`: open,
// escalated or acknowledged), then every change once per version. A reconnect sends the
// open tasks again, so:
// - rows are keyed by task id and the newest version wins: an update older than (or the same
//   as) the row's changes nothing, and a row is never shown twice;
// - a task DONE leaves the inbox, and is remembered (its version) so that an older update
//   arriving late never brings it back;
// - each connection is a generation: a row the new connection's first burst did not send
//   again is no longer open for this person (it closed, or left their view, while the
//   stream was down) and goes once the burst is over (`settle`: at the first change, or
//   when the burst has gone quiet).
import { TaskKind, TaskState } from "@wuye/clients/gen/wuye/events/v1/duty_events_pb.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

export interface TaskLike {
  id: string;
  kind: TaskKind;
  state: TaskState;
  level: number;
  version: bigint;
  ackDueTime?: Timestamp;
  createTime?: Timestamp;
}

export interface UpdateLike<T extends TaskLike> {
  task?: T;
  initial: boolean;
}

export interface Inbox<T extends TaskLike> {
  /** Task id → the newest version seen and the connection that last sent it. */
  rows: ReadonlyMap<string, { task: T; generation: number }>;
  /** Task id → the version at which it was done. */
  done: ReadonlyMap<string, bigint>;
  generation: number;
  /** Whether this connection's first burst is over (rows not sent again are gone). */
  settled: boolean;
}

export function emptyInbox<T extends TaskLike>(): Inbox<T> {
  return { rows: new Map(), done: new Map(), generation: 0, settled: true };
}

/** A new connection: its first burst will send every open task again. */
export function newConnection<T extends TaskLike>(inbox: Inbox<T>): Inbox<T> {
  return { ...inbox, generation: inbox.generation + 1, settled: false };
}

/** The first burst is over: the rows it did not send again are no longer open for us. */
export function settle<T extends TaskLike>(inbox: Inbox<T>): Inbox<T> {
  if (inbox.settled) return inbox;
  const rows = new Map([...inbox.rows].filter(([, r]) => r.generation === inbox.generation));
  return { ...inbox, rows, settled: true };
}

/** One update of the stream merged in (a new inbox; the old one is left as it was). */
export function applyUpdate<T extends TaskLike>(inbox: Inbox<T>, u: UpdateLike<T>): Inbox<T> {
  const base = !u.initial ? settle(inbox) : inbox;
  const task = u.task;
  if (!task || !task.id) return base;
  const doneAt = base.done.get(task.id);
  if (doneAt !== undefined && doneAt >= task.version) return base;
  const row = base.rows.get(task.id);
  if (row && row.task.version > task.version) {
    // Older than what is shown: only the connection's word that it is still open counts.
    if (row.generation === base.generation) return base;
    const rows = new Map(base.rows);
    rows.set(task.id, { task: row.task, generation: base.generation });
    return { ...base, rows };
  }
  const rows = new Map(base.rows);
  if (task.state === TaskState.DONE) {
    rows.delete(task.id);
    const done = new Map(base.done);
    done.set(task.id, task.version);
    return { ...base, rows, done };
  }
  rows.set(task.id, { task, generation: base.generation });
  return { ...base, rows };
}

/** Waiting for someone to take it (not yet acknowledged). */
export function waiting(t: Pick<TaskLike, "state">): boolean {
  return t.state === TaskState.OPEN || t.state === TaskState.ESCALATED;
}

/**
 * How urgent a kind is, 0 the most: an elderly-care emergency (3 minutes, a life); then
 * what a resident or the desk is waiting on now (a major or second complaint, an order's
 * escalation or breached SLA, an unstaffed desk or role); then warnings and checks; then
 * the office's reviews (hours to days).
 */
export function urgency(kind: TaskKind): number {
  switch (kind) {
    case TaskKind.ELDER_EMERGENCY:
      return 0;
    case TaskKind.MAJOR_COMPLAINT:
    case TaskKind.SECOND_COMPLAINT:
    case TaskKind.ESCALATION:
    case TaskKind.SLA_BREACH:
    case TaskKind.DESK_GAP:
    case TaskKind.ROLE_GAP:
      return 1;
    case TaskKind.SLA_WARNING:
    case TaskKind.CONSULTATION_OVERDUE:
    case TaskKind.SAFETY_CHECK:
      return 2;
    default:
      return 3;
  }
}

function ms(ts: Timestamp | undefined): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : Number.POSITIVE_INFINITY;
}

/** Its acknowledgement is late (a waiting task past its due time). */
export function overdue(t: TaskLike, nowMs: number): boolean {
  return waiting(t) && ms(t.ackDueTime) <= nowMs;
}

/**
 * The inbox's order: what waits for acknowledgement before what is followed; among the
 * waiting, the most urgent kind, then the earliest due (the late ones are the earliest),
 * then the oldest; the followed ones newest first.
 */
export function compareTasks(a: TaskLike, b: TaskLike): number {
  const wa = waiting(a);
  const wb = waiting(b);
  if (wa !== wb) return wa ? -1 : 1;
  if (wa) {
    return (
      urgency(a.kind) - urgency(b.kind) ||
      ms(a.ackDueTime) - ms(b.ackDueTime) ||
      ms(a.createTime) - ms(b.createTime) ||
      a.id.localeCompare(b.id)
    );
  }
  return ms(b.createTime) - ms(a.createTime) || a.id.localeCompare(b.id);
}

/** The rows to show, in the inbox's order. */
export function inboxRows<T extends TaskLike>(inbox: Inbox<T>): T[] {
  return [...inbox.rows.values()].map((r) => r.task).sort(compareTasks);
}

/**
 * The wait before reconnect attempt `attempt` (0 the first after a drop): 1 s doubling to at
 * most 30 s, plus up to a quarter more at random, so that screens dropped together (a
 * gateway restart) do not come back together.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, Math.min(attempt, 15)));
  return Math.round(base * (1 + 0.25 * random()));
}

/**
 * Whether a stream that ended with this Connect code is tried again: a network or server
 * drop is; a refusal (no right, a bad request, signed out) would only be refused again.
 * Codes by number (connect's Code): 1 canceled, 2 unknown, 4 deadline_exceeded,
 * 8 resource_exhausted, 10 aborted, 13 internal, 14 unavailable; undefined: ended cleanly.
 */
export function reconnects(code: number | undefined): boolean {
  return code === undefined || [1, 2, 4, 8, 10, 13, 14].includes(code);
}
