// The desk's pure rules (src/desk/rules.ts, src/desk/unit-query.ts), no browser: every kind ×
// state × caller, checked against intake's own state machine (services/intake/ticket.cc,
// CanMove, copied below) and its role table (docs/api/intake.md).
import { expect, test } from "@playwright/test";
import { TicketKind } from "@wuye/clients/gen/wuye/common/v1/domain_pb.js";
import { TicketState } from "@wuye/clients/gen/wuye/events/v1/intake_events_pb.js";
import { allowedActions, answerable, needsWork, queueOrder, type TicketAction } from "../src/desk/rules";
import { parseUnitQuery } from "../src/desk/unit-query";
import type { Role } from "../src/roles";

const S = TicketState;
// intake's CanMove (services/intake/ticket.cc): from → the states it may move to.
const MOVES: Record<number, TicketState[]> = {
  [S.RECEIVED]: [S.ANSWERED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CANCELLED],
  [S.ANSWERED]: [S.CLOSED, S.CANCELLED],
  [S.DISPATCHED]: [S.IN_PROGRESS, S.RESOLVED, S.CANCELLED],
  [S.IN_PROGRESS]: [S.RESOLVED, S.CANCELLED],
  [S.RESOLVED]: [S.CALLBACK_DUE, S.CLOSED],
  [S.CALLBACK_DUE]: [S.CLOSED, S.REOPENED],
  [S.CLOSED]: [S.REOPENED],
  [S.REOPENED]: [S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CANCELLED],
};
function canMove(kind: TicketKind, from: TicketState, to: TicketState) {
  if (kind === TicketKind.COMPLAINT && (to === S.ANSWERED || to === S.CANCELLED)) return false;
  return (MOVES[from] ?? []).includes(to);
}
const TARGET: Partial<Record<TicketAction, TicketState>> = {
  answer: S.ANSWERED,
  resolve: S.RESOLVED,
  close: S.CLOSED,
  cancel: S.CANCELLED,
  reopen: S.REOPENED,
};

const kinds = Object.values(TicketKind).filter((v): v is TicketKind => typeof v === "number" && v !== 0);
const states = Object.values(TicketState).filter((v): v is TicketState => typeof v === "number" && v !== 0);
const callers: { name: string; staffId: string; roles: Role[] }[] = [
  { name: "the owner, an agent", staffId: "owner", roles: ["agent"] },
  { name: "another agent", staffId: "other", roles: ["agent"] },
  { name: "a team lead, not the owner", staffId: "lead", roles: ["team_lead", "agent"] },
  { name: "a supervisor, not the owner", staffId: "sup", roles: ["supervisor"] },
  { name: "an estate manager", staffId: "mgr", roles: ["estate_manager"] },
  { name: "a quality inspector", staffId: "qi", roles: ["quality_inspector"] },
  { name: "a technician", staffId: "tech", roles: ["technician"] },
];

test("every action offered is a legal move of intake, for a role intake lets do it", () => {
  for (const kind of kinds) {
    for (const state of states) {
      for (const c of callers) {
        const acts = allowedActions({ kind, state, ownerId: "owner" }, c);
        const where = `${TicketKind[kind]} ${TicketState[state]}, ${c.name}: ${acts.join(",")}`;
        const owner = c.staffId === "owner";
        const supervisor = c.roles.includes("supervisor");
        const desk = c.roles.some((r) => r === "agent" || r === "team_lead" || r === "supervisor");
        for (const a of acts) {
          const to = TARGET[a];
          if (to !== undefined) expect(canMove(kind, state, to), where).toBe(true);
        }
        // The role table.
        if (!owner && !supervisor) {
          for (const a of ["answer", "resolve", "close", "cancel"] as const) expect(acts, where).not.toContain(a);
        }
        const transferable = [S.RECEIVED, S.ANSWERED, S.DISPATCHED, S.IN_PROGRESS, S.REOPENED, S.CALLBACK_DUE].includes(state);
        expect(acts.includes("transfer"), where).toBe(supervisor && transferable);
        expect(acts.includes("reopen"), where).toBe(supervisor && state === S.CLOSED);
        expect(acts.includes("callback"), where).toBe(desk && state === S.CALLBACK_DUE);
        if (!desk) expect(acts, where).toEqual([]);
        // Kinds: answered kinds are answered, work is resolved by its orders unless reopened,
        // a complaint is never answered nor cancelled.
        if (acts.includes("answer")) expect(answerable(kind), where).toBe(true);
        if (acts.includes("resolve") && needsWork(kind)) expect(state, where).toBe(S.REOPENED);
        if (kind === TicketKind.COMPLAINT) expect(acts.filter((a) => a === "answer" || a === "cancel"), where).toEqual([]);
      }
    }
  }
});

test("what the desk sees on some tickets", () => {
  const agent = { staffId: "owner", roles: ["agent"] as Role[] };
  const supervisor = { staffId: "sup", roles: ["supervisor"] as Role[] };
  const complaint = { kind: TicketKind.COMPLAINT, state: S.RECEIVED, ownerId: "owner" };
  expect(allowedActions(complaint, agent)).toEqual(["resolve"]);
  expect(allowedActions(complaint, supervisor)).toEqual(["resolve", "transfer"]);
  const consultation = { kind: TicketKind.CONSULTATION, state: S.RECEIVED, ownerId: "owner" };
  expect(allowedActions(consultation, agent)).toEqual(["answer", "cancel"]);
  const repair = { kind: TicketKind.REPAIR_UNIT, state: S.DISPATCHED, ownerId: "owner" };
  expect(allowedActions(repair, agent)).toEqual(["cancel"]);
  expect(allowedActions({ ...repair, state: S.CALLBACK_DUE }, agent)).toEqual(["callback"]);
  expect(allowedActions({ ...repair, state: S.CLOSED }, supervisor)).toEqual(["reopen"]);
  expect(allowedActions({ ...repair, state: S.REOPENED }, supervisor)).toEqual(["resolve", "transfer", "cancel"]);
});

test("the queue: overdue first, the longest late first, then the oldest", () => {
  const rows = [
    { id: "new", overdue: false, receivedMs: 30 },
    { id: "late-2", overdue: true, answerDueMs: 20, receivedMs: 15 },
    { id: "old", overdue: false, receivedMs: 10 },
    { id: "late-1", overdue: true, answerDueMs: 5, receivedMs: 1 },
  ];
  expect(rows.sort(queueOrder).map((r) => r.id)).toEqual(["late-1", "late-2", "old", "new"]);
});

test("a unit typed as the desk types it", () => {
  const buildings = ["1栋", "3栋", "10栋", "A座", "翠湖别墅"];
  expect(parseUnitQuery("3 501", buildings)).toEqual({ building: "3", unit: "501" });
  expect(parseUnitQuery("3-501", buildings)).toEqual({ building: "3", unit: "501" });
  expect(parseUnitQuery("3栋501", buildings)).toEqual({ building: "3栋", unit: "501" });
  expect(parseUnitQuery("10栋1101", buildings)).toEqual({ building: "10栋", unit: "1101" });
  expect(parseUnitQuery("a座1201", buildings)).toEqual({ building: "a座", unit: "1201" });
  expect(parseUnitQuery("A座 1201", buildings)).toEqual({ building: "a座", unit: "1201" });
  expect(parseUnitQuery("翠湖别墅V03", buildings)).toEqual({ building: "翠湖别墅", unit: "v03" });
  // A number alone is a unit number in any building; "31101" is never split as 3 / 1101.
  expect(parseUnitQuery("501", buildings)).toEqual({ unit: "501" });
  expect(parseUnitQuery("31101", buildings)).toEqual({ unit: "31101" });
  expect(parseUnitQuery("  ", buildings)).toEqual({ unit: "" });
});
