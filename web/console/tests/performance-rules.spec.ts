// 绩效's pure rules (src/performance/rules.ts), no browser: who may appeal, decide and confirm,
// checked against performance's role table (docs/api/performance.md, "Methods and who may
// call them") and the seeds' clauses it implements.
import { expect, test } from "@playwright/test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AppealSchema,
  AppealState,
  LineSchema,
  QualityLineSchema,
  QualityLineState,
  SheetSchema,
  SheetState,
} from "@wuye/clients/gen/wuye/performance/v1/performance_pb.js";
import {
  PERFORMANCE,
  canAppealLine,
  canAppealOfficeLine,
  canConfirm,
  canDecide,
  gradeOf,
  lineStatus,
  monthIn,
  points,
  recentMonths,
  seesTeam,
  textProblem,
} from "../src/performance/rules";
import { PAGES, ROLES, type Role } from "../src/roles";

const now = new Date("2026-12-06T04:00:00Z");
const before = timestampFromDate(new Date("2027-01-05T16:00:00Z"));
const past = timestampFromDate(new Date("2026-12-05T16:00:00Z"));
const me = { staffId: "me", roles: ["agent"] as Role[] };

function sheet(over: MessageInitShape<typeof SheetSchema> = {}) {
  return create(SheetSchema, { staffId: "me", state: SheetState.OPEN, appealDeadline: before, ...over });
}
const line = (over = {}) => create(LineSchema, { id: "l1", staffId: "me", rule: "dress_code", points: -1, ...over });

test("every staff role has the page: a person sees their own form (GetSheet: the staff member)", () => {
  const page = PAGES.find((p) => p.name === "performance")!;
  expect([...page.roles].sort()).toEqual([...ROLES].sort());
  expect(page.ready).toBe(true);
});

test("the team, the ledger and the rankings are the managers' of the role table, nobody else's", () => {
  const managers: Role[] = ["group_admin", "estate_manager", "supervisor", "team_lead", "quality_inspector"];
  for (const r of ROLES) expect(seesTeam({ staffId: "x", roles: [r] }), r).toBe(managers.includes(r));
  expect(seesTeam({ staffId: "x", roles: ["agent", "team_lead"] })).toBe(true);
});

test("002_… 第七章: grades by the score — ≥ 98 excellent, 91–97 good, 86–90 pass, ≤ 85 fail", () => {
  expect([100, 98, 97, 91, 90, 86, 85, 0].map(gradeOf)).toEqual(["excellent", "excellent", "good", "good", "pass", "pass", "fail", "fail"]);
  expect([points(10), points(-2), points(0)]).toEqual(["+10", "−2", "0"]);
});

test("a person appeals only their own line, once, while the window is open, never a voided or pending one", () => {
  expect(canAppealLine(line(), sheet(), me, now)).toBe(true);
  // Another's line, or another's sheet: no appeal (CreateAppeal: the staff member whose line it is).
  expect(canAppealLine(line({ staffId: "other" }), sheet({ staffId: "other" }), me, now)).toBe(false);
  expect(canAppealLine(line(), sheet({ staffId: "other" }), me, now)).toBe(false);
  // LINE_VOIDED; a housing claim awaiting the committee counts nothing yet.
  expect(canAppealLine(line({ voided: true }), sheet(), me, now)).toBe(false);
  expect(canAppealLine(line({ pending: true }), sheet(), me, now)).toBe(false);
  // ALREADY_APPEALED: one appeal per line, whatever its state.
  for (const state of [AppealState.PENDING, AppealState.REJECTED, AppealState.UPHELD]) {
    const appeals = [create(AppealSchema, { id: "a", lineId: "l1", staffId: "me", state })];
    expect(canAppealLine(line(), sheet({ appeals }), me, now)).toBe(false);
  }
  // APPEAL_WINDOW_CLOSED: after the deadline, or once the month is closed.
  expect(canAppealLine(line(), sheet({ appealDeadline: past }), me, now)).toBe(false);
  expect(canAppealLine(line(), sheet({ state: SheetState.CLOSED }), me, now)).toBe(false);
  // A form line the office item maps to nothing has no id to appeal.
  expect(canAppealLine(line({ id: "" }), sheet(), me, now)).toBe(false);
});

test("a line's status: voided, awaiting confirmation, under appeal, counted", () => {
  const pending = [create(AppealSchema, { lineId: "l1", state: AppealState.PENDING })];
  const rejected = [create(AppealSchema, { lineId: "l1", state: AppealState.REJECTED })];
  expect(lineStatus(line({ voided: true }), pending)).toBe("voided");
  expect(lineStatus(line({ pending: true }), [])).toBe("pending");
  expect(lineStatus(line(), pending)).toBe("appealed");
  expect(lineStatus(line(), rejected)).toBe("counted");
});

test("DecideAppeal of a form line: estate managers and group admins, never on their own line; only a pending appeal", () => {
  const a = create(AppealSchema, { id: "a", lineId: "l1", staffId: "agent1", state: AppealState.PENDING });
  for (const r of ROLES) {
    expect(canDecide(a, { staffId: "boss", roles: [r] }), r).toBe((PERFORMANCE.decideForm as Role[]).includes(r));
  }
  expect([...PERFORMANCE.decideForm].sort()).toEqual(["estate_manager", "group_admin"]);
  expect(canDecide(create(AppealSchema, { ...a, staffId: "boss" }), { staffId: "boss", roles: ["estate_manager"] })).toBe(false);
  expect(canDecide(create(AppealSchema, { ...a, state: AppealState.UPHELD }), { staffId: "boss", roles: ["estate_manager"] })).toBe(false);
  // The supervisor and the team lead see the appeals, but do not decide them.
  expect(canDecide(a, { staffId: "s", roles: ["supervisor", "team_lead"] })).toBe(false);
});

test("DecideAppeal of an office line (000_… 二: the committee's decision): a group admin, never who appealed nor a person the line names", () => {
  const ql = create(QualityLineSchema, { id: "q", state: QualityLineState.COUNTED, points: -20, responsibleStaffIds: ["named"] });
  const a = create(AppealSchema, { id: "a", qualityLineId: "q", appealedBy: "mgr", state: AppealState.PENDING });
  expect(canDecide(a, { staffId: "admin", roles: ["group_admin"] }, ql)).toBe(true);
  expect(canDecide(a, { staffId: "mgr2", roles: ["estate_manager"] }, ql)).toBe(false);
  expect(canDecide(a, { staffId: "mgr", roles: ["group_admin"] }, ql)).toBe(false);
  expect(canDecide(a, { staffId: "named", roles: ["group_admin"] }, ql)).toBe(false);
});

test("000_… 二.11: a housing claim counts once the committee's confirmation is recorded — by an estate manager or group admin", () => {
  const awaiting = create(QualityLineSchema, { state: QualityLineState.AWAITING_CONFIRMATION, item: "housing_claim_help", points: 100 });
  for (const r of ROLES) expect(canConfirm(awaiting, { staffId: "x", roles: [r] }), r).toBe(r === "estate_manager" || r === "group_admin");
  // NOT_AWAITING_CONFIRMATION.
  expect(canConfirm(create(QualityLineSchema, { state: QualityLineState.COUNTED }), { staffId: "x", roles: ["estate_manager"] })).toBe(false);
  // Never by a person the line names (PERMISSION_DENIED): the manager who helped gains from it.
  const named = create(QualityLineSchema, {
    state: QualityLineState.AWAITING_CONFIRMATION,
    item: "housing_claim_help",
    points: 100,
    responsibleStaffIds: ["mgr"],
  });
  expect(canConfirm(named, { staffId: "mgr", roles: ["estate_manager"] })).toBe(false);
  expect(canConfirm(named, { staffId: "other", roles: ["estate_manager"] })).toBe(true);
});

test("the office objects to a counted deduction through its estate manager, once, while the window is open", () => {
  const ql = (over = {}) => create(QualityLineSchema, { id: "q", item: "call_unrecorded", state: QualityLineState.COUNTED, points: -20, ...over });
  const mgr = { staffId: "m", roles: ["estate_manager"] as Role[] };
  expect(canAppealOfficeLine(ql(), mgr, true)).toBe(true);
  expect(canAppealOfficeLine(ql(), mgr, false)).toBe(false);
  expect(canAppealOfficeLine(ql(), { staffId: "s", roles: ["supervisor", "group_admin"] }, true)).toBe(false);
  expect(canAppealOfficeLine(ql({ underAppeal: true, appealId: "a" }), mgr, true)).toBe(false);
  expect(canAppealOfficeLine(ql({ state: QualityLineState.WITHDRAWN }), mgr, true)).toBe(false);
  expect(canAppealOfficeLine(ql({ state: QualityLineState.AWAITING_CONFIRMATION }), mgr, true)).toBe(false);
  // Not a reward, nor billing's arrears points.
  expect(canAppealOfficeLine(ql({ item: "housing_claim_help", points: 100 }), mgr, true)).toBe(false);
  expect(canAppealOfficeLine(ql({ item: "arrears_above_baseline", points: -1000 }), mgr, true)).toBe(false);
});

test("reasons as the service checks them: required, at most 2000 bytes (a Chinese character is 3); a reference 200", () => {
  expect(textProblem("  ")).toBe("required");
  expect(textProblem("当天我在休假")).toBeNull();
  expect(textProblem("假".repeat(666))).toBeNull();
  expect(textProblem("假".repeat(667))).toBe("tooLong");
  expect(textProblem("x".repeat(201), 200)).toBe("tooLong");
});

test("months on the estate's clock: 16:30 UTC on 31 December is January in Shanghai", () => {
  expect(monthIn(new Date("2026-12-31T16:30:00Z"), "Asia/Shanghai")).toEqual({ year: 2027, month: 1 });
  expect(monthIn(new Date("2026-12-31T15:30:00Z"), "Asia/Shanghai")).toEqual({ year: 2026, month: 12 });
  expect(recentMonths({ year: 2027, month: 2 }, 3)).toEqual([
    { year: 2027, month: 2 },
    { year: 2027, month: 1 },
    { year: 2026, month: 12 },
  ]);
});
