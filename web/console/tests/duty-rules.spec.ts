// The duty page's pure rules (src/duty/inbox.ts, src/duty/rules.ts), no browser: the merge
// of WatchTasks' updates into the inbox across reconnects (docs/api/duty.md, WatchTasks: the
// open tasks first, then each change once per version), the inbox's order, the reconnect's
// backoff, and who may acknowledge what (the role table and the ladder of docs/api/duty.md).
import { expect, test } from "@playwright/test";
import { StaffRole } from "@wuye/clients/gen/wuye/events/v1/directory_events_pb.js";
import { TaskKind, TaskState } from "@wuye/clients/gen/wuye/events/v1/duty_events_pb.js";
import {
  applyUpdate,
  backoffMs,
  compareTasks,
  emptyInbox,
  inboxRows,
  newConnection,
  overdue,
  reconnects,
  settle,
  type Inbox,
  type TaskLike,
} from "../src/duty/inbox";
import { civilDay, checkInRoles, formatDay, Intents, mayAcknowledge, parseDay, refTarget, roleOf, staffRoleOf } from "../src/duty/rules";
import { PAGES, ROLES, type Role } from "../src/roles";

const T0 = Date.UTC(2026, 11, 6, 1, 0, 0);
const ts = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 }) as TaskLike["ackDueTime"];

function task(id: string, version: number, over: Partial<TaskLike> = {}): TaskLike {
  return {
    id,
    kind: TaskKind.MAJOR_COMPLAINT,
    state: TaskState.OPEN,
    level: 2,
    version: BigInt(version),
    ackDueTime: ts(T0 + 15 * 60_000),
    createTime: ts(T0),
    ...over,
  };
}
const ids = (inbox: Inbox<TaskLike>) => inboxRows(inbox).map((t) => t.id);
const connect = (inbox: Inbox<TaskLike>, ...open: TaskLike[]) =>
  open.reduce((i, t) => applyUpdate(i, { task: t, initial: true }), newConnection(inbox));

test.describe("the inbox's merge of WatchTasks' updates", () => {
  test("rows are keyed by task id: a task sent twice, or again at the same version, is one row", () => {
    let inbox = connect(emptyInbox(), task("a", 1), task("b", 1));
    inbox = applyUpdate(inbox, { task: task("a", 1), initial: false });
    inbox = applyUpdate(inbox, { task: task("a", 1), initial: true });
    expect(ids(inbox).sort()).toEqual(["a", "b"]);
  });

  test("the newest version wins; an older one arriving late changes nothing", () => {
    let inbox = connect(emptyInbox(), task("a", 1));
    inbox = applyUpdate(inbox, { task: task("a", 3, { state: TaskState.ACKNOWLEDGED }), initial: false });
    inbox = applyUpdate(inbox, { task: task("a", 2, { state: TaskState.ESCALATED, level: 3 }), initial: false });
    const [a] = inboxRows(inbox);
    expect(a.version).toBe(3n);
    expect(a.state).toBe(TaskState.ACKNOWLEDGED);
  });

  test("a task done leaves the inbox and an older update never brings it back", () => {
    let inbox = connect(emptyInbox(), task("a", 1), task("b", 1));
    inbox = applyUpdate(inbox, { task: task("a", 2, { state: TaskState.DONE }), initial: false });
    expect(ids(inbox)).toEqual(["b"]);
    inbox = applyUpdate(inbox, { task: task("a", 1), initial: false });
    expect(ids(inbox)).toEqual(["b"]);
  });

  test("after a reconnect the first burst sends the open tasks again: no row twice, the newest kept", () => {
    let inbox = connect(emptyInbox(), task("a", 1), task("b", 1));
    inbox = applyUpdate(inbox, { task: task("a", 2, { state: TaskState.ACKNOWLEDGED }), initial: false });
    // Dropped; while down, c was raised and b acknowledged. The new connection's burst:
    inbox = connect(inbox, task("a", 2, { state: TaskState.ACKNOWLEDGED }), task("b", 2, { state: TaskState.ACKNOWLEDGED }), task("c", 1));
    inbox = settle(inbox);
    const rows = inboxRows(inbox);
    expect(rows.map((t) => t.id).sort()).toEqual(["a", "b", "c"]);
    expect(rows.find((t) => t.id === "b")!.state).toBe(TaskState.ACKNOWLEDGED);
    // And a burst that repeats a version already shown adds nothing either.
    inbox = connect(inbox, task("a", 2, { state: TaskState.ACKNOWLEDGED }), task("b", 2, { state: TaskState.ACKNOWLEDGED }), task("c", 1));
    expect(ids(settle(inbox))).toHaveLength(3);
  });

  test("a row the new connection's burst does not send again (closed while the stream was down) goes when the burst is over", () => {
    let inbox = connect(emptyInbox(), task("a", 1), task("b", 1));
    inbox = connect(inbox, task("b", 1));
    // Until the burst is over the old row stays (the burst may still be on its way)...
    expect(ids(inbox).sort()).toEqual(["a", "b"]);
    // ...the first change after it ends the burst.
    inbox = applyUpdate(inbox, { task: task("d", 1), initial: false });
    expect(ids(inbox).sort()).toEqual(["b", "d"]);
    // A burst of nothing (no task open any more) empties the inbox once settled.
    expect(ids(settle(newConnection(inbox)))).toEqual([]);
  });

  test("an empty update (no task) and an update without id change nothing", () => {
    const inbox = connect(emptyInbox(), task("a", 1));
    expect(ids(applyUpdate(inbox, { initial: true }))).toEqual(["a"]);
    expect(ids(applyUpdate(inbox, { task: task("", 1), initial: true }))).toEqual(["a"]);
  });
});

test.describe("the inbox's order", () => {
  test("waiting before taken; the most urgent kind first; then the earliest due; taken ones newest first", () => {
    const rows = [
      task("taken-old", 2, { state: TaskState.ACKNOWLEDGED, createTime: ts(T0 - 3_600_000) }),
      task("taken-new", 2, { state: TaskState.ACKNOWLEDGED, createTime: ts(T0) }),
      task("review", 1, { kind: TaskKind.APPEAL, ackDueTime: ts(T0 - 60_000) }),
      task("complaint-late", 1, { ackDueTime: ts(T0 + 60_000) }),
      task("complaint", 1, { ackDueTime: ts(T0 + 600_000) }),
      task("emergency", 1, { kind: TaskKind.ELDER_EMERGENCY, level: 0, ackDueTime: ts(T0 + 180_000) }),
      task("escalated", 2, { kind: TaskKind.SLA_WARNING, state: TaskState.ESCALATED }),
    ];
    expect([...rows].sort(compareTasks).map((t) => t.id)).toEqual([
      "emergency",
      "complaint-late",
      "complaint",
      "escalated",
      "review",
      "taken-new",
      "taken-old",
    ]);
  });

  test("overdue: a waiting task past its due time, never a taken one", () => {
    expect(overdue(task("a", 1, { ackDueTime: ts(T0) }), T0)).toBe(true);
    expect(overdue(task("a", 1, { ackDueTime: ts(T0 + 1) }), T0)).toBe(false);
    expect(overdue(task("a", 1, { ackDueTime: ts(T0), state: TaskState.ACKNOWLEDGED }), T0 + 1)).toBe(false);
  });
});

test.describe("the reconnect", () => {
  test("backoff: 1 s doubling to at most 30 s, with up to a quarter more at random", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((a) => backoffMs(a, () => 0))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(backoffMs(0, () => 0.999)).toBeLessThanOrEqual(1250);
    expect(backoffMs(10, () => 1)).toBe(37500);
  });

  test("a drop is tried again; a refusal is not (it would only be refused again)", () => {
    // Connect codes: canceled 1, unknown 2, deadline 4, unauthenticated 16, denied 7, ...
    for (const code of [undefined, 1, 2, 4, 8, 10, 13, 14]) expect(reconnects(code)).toBe(true);
    for (const code of [3, 5, 6, 7, 9, 11, 12, 15, 16]) expect(reconnects(code)).toBe(false);
  });
});

test.describe("who may do what (docs/api/duty.md, the role table and the ladder)", () => {
  const open = (role: StaffRole, level: number, state = TaskState.OPEN) => ({ role, level, state });

  test("acknowledge: the task's role, or a rung above it on the ladder (team lead 1, supervisor 2, estate manager 3)", () => {
    const guard = open(StaffRole.SECURITY_GUARD, 0);
    expect(mayAcknowledge(guard, ["security_guard"])).toBe(true);
    expect(mayAcknowledge(guard, ["team_lead"])).toBe(true);
    expect(mayAcknowledge(guard, ["technician", "cleaner"])).toBe(false);
    expect(mayAcknowledge(guard, ["agent"])).toBe(false);
    const supervisor = open(StaffRole.SUPERVISOR, 2);
    expect(mayAcknowledge(supervisor, ["team_lead", "agent"])).toBe(false);
    expect(mayAcknowledge(supervisor, ["supervisor"])).toBe(true);
    expect(mayAcknowledge(supervisor, ["estate_manager"])).toBe(true);
    const manager = open(StaffRole.ESTATE_MANAGER, 3, TaskState.ESCALATED);
    expect(mayAcknowledge(manager, ["supervisor"])).toBe(false);
    expect(mayAcknowledge(manager, ["estate_manager"])).toBe(true);
  });

  test("a task taken or done offers nothing", () => {
    for (const state of [TaskState.ACKNOWLEDGED, TaskState.DONE]) {
      expect(mayAcknowledge(open(StaffRole.AGENT, 0, state), ["agent", "estate_manager"])).toBe(false);
    }
  });

  test("check-in in a role one holds (000_… 二.1 值班登记): every staff role, not the group admin's", () => {
    expect(checkInRoles(["team_lead", "agent", "group_admin"])).toEqual(["team_lead", "agent"]);
    for (const r of ROLES.filter((x) => x !== "nurse" && x !== "clinic")) {
      const s = staffRoleOf(r as Role);
      expect(s).toBeDefined();
      expect(roleOf(s!)).toBe(r);
    }
    expect(staffRoleOf("nurse")).toBeUndefined();
  });

  test("the page is every staff role's (each has an inbox), not the nurse's or the clinic's", () => {
    const page = PAGES.find((p) => p.name === "duty")!;
    expect(page.ready).toBe(true);
    expect([...page.roles].sort()).toEqual(ROLES.filter((r) => r !== "nurse" && r !== "clinic").sort());
  });
});

test.describe("refs, days and intents", () => {
  test("a ticket opens on the desk, a work order on the dispatch board when it has a page, the rest shows its id", () => {
    expect(refTarget("ticket/t1")).toEqual({ kind: "ticket", id: "t1", path: "/desk/tickets/t1" });
    expect(refTarget("work_order/w1")).toEqual({ kind: "work_order", id: "w1" });
    expect(refTarget("work_order/w1", (id) => `/dispatch/work-orders/${id}`).path).toBe("/dispatch/work-orders/w1");
    expect(refTarget("task/k1")).toEqual({ kind: "task", id: "k1" });
    expect(refTarget("desk/e1")).toEqual({ kind: "desk", id: "e1" });
  });

  test("the daily log's day is the estate's calendar day (000_… 二.2), not the browser's", () => {
    const at = new Date(Date.UTC(2026, 11, 5, 16, 30));
    expect(formatDay(civilDay("Asia/Shanghai", at))).toBe("2026-12-06");
    expect(formatDay(civilDay("Europe/London", at))).toBe("2026-12-05");
    expect(parseDay("2026-12-06")).toEqual({ year: 2026, month: 12, day: 6 });
    expect(parseDay("2026-02-30")).toBeUndefined();
    expect(parseDay("06/12/2026")).toBeUndefined();
  });

  test("one request_id per intent: the same for a resend, a new one once the service answered", () => {
    let n = 0;
    const intents = new Intents(() => `id-${++n}`);
    expect(intents.idFor("ack/a")).toBe("id-1");
    expect(intents.idFor("ack/a")).toBe("id-1");
    expect(intents.idFor("ack/b")).toBe("id-2");
    intents.answered("ack/a");
    expect(intents.has("ack/a")).toBe(false);
    expect(intents.idFor("ack/a")).toBe("id-3");
  });
});
