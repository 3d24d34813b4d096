// The callbacks page's pure rules (src/callbacks/rules.ts, src/months.ts), no browser:
// mandatory vs sampled callbacks (004_… 5.5.2 A–D and every complaint, docs/api/intake.md
// "Callbacks"), lateness by the estate's month (5.5.2: 每月对当月居家服务对象…回访), the due
// list's order, and who sees the coverage (intake's role table).
import { expect, test } from "@playwright/test";
import { CallbackReason } from "@wuye/clients/gen/wuye/intake/v1/intake_pb.js";
import { CALLBACKS, canSeeCoverage, dueOrder, lateCallback, mandatory, percent } from "../src/callbacks/rules";
import { monthAt, monthKey, recentMonths } from "../src/months";
import { INTAKE, PAGES, ROLES } from "../src/roles";

test("004_… 5.5.2: complaints and A–D are mandatory, the sample is not", () => {
  const R = CallbackReason;
  for (const r of [R.COMPLAINT, R.NEW_CONTRACT, R.NEW_SERVICE_ITEM, R.NEW_STAFF, R.COMPLAINED_STAFF]) expect(mandatory(r)).toBe(true);
  for (const r of [R.SAMPLE, R.UNSPECIFIED, R.NOT_REQUIRED]) expect(mandatory(r)).toBe(false);
});

test("004_… 5.5.2 (每月…当月): a callback is late once the month it became due in has ended, in the estate's zone", () => {
  const zone = "Asia/Shanghai";
  // 30 Nov 23:30 in Shanghai is 15:30 UTC: November there.
  const due = new Date("2026-11-30T15:30:00Z");
  expect(lateCallback(due, new Date("2026-11-30T15:59:00Z"), zone)).toBe(false);
  // 1 Dec 00:00 in Shanghai: the month is over.
  expect(lateCallback(due, new Date("2026-11-30T16:00:00Z"), zone)).toBe(true);
  // The same instants in UTC are both November: not late there.
  expect(lateCallback(due, new Date("2026-11-30T16:00:00Z"), "UTC")).toBe(false);
  expect(lateCallback(undefined, new Date(), zone)).toBe(false);
  // Across a year.
  expect(lateCallback(new Date("2026-12-20T00:00:00Z"), new Date("2027-01-05T00:00:00Z"), zone)).toBe(true);
});

test("the due list: late first, then mandatory before the sample, then the oldest", () => {
  const R = CallbackReason;
  const rows = [
    { id: "sample-old", late: false, reason: R.SAMPLE, dueSinceMs: 1 },
    { id: "complaint-new", late: false, reason: R.COMPLAINT, dueSinceMs: 30 },
    { id: "late-sample", late: true, reason: R.SAMPLE, dueSinceMs: 20 },
    { id: "staff-old", late: false, reason: R.NEW_STAFF, dueSinceMs: 10 },
    { id: "late-complaint", late: true, reason: R.COMPLAINT, dueSinceMs: 25 },
  ];
  expect(rows.sort(dueOrder).map((r) => r.id)).toEqual(["late-complaint", "late-sample", "staff-old", "complaint-new", "sample-old"]);
});

test("intake's role table: coverage for supervisors, managers, quality and the group; the call for the desk", () => {
  // docs/api/intake.md: GetCallbackCoverage — supervisor, estate_manager, quality_inspector, group_admin.
  const coverage = ROLES.filter((r) => canSeeCoverage([r]));
  expect(coverage.sort()).toEqual(["estate_manager", "group_admin", "quality_inspector", "supervisor"]);
  // RecordCallback — agent, team_lead, supervisor: the ticket page's rule, reused.
  expect([...CALLBACKS.record].sort()).toEqual(["agent", "supervisor", "team_lead"]);
  expect(CALLBACKS.record).toBe(INTAKE.callback);
  // The page: every reader of intake's tickets, and no one else.
  const page = PAGES.find((p) => p.name === "callbacks")!;
  expect(page.ready).toBe(true);
  expect([...page.roles].sort()).toEqual([...INTAKE.read].sort());
});

test("months in the estate's zone; shares as the service rounds them (down)", () => {
  expect(monthKey(monthAt(new Date("2026-11-30T16:00:00Z"), "Asia/Shanghai"))).toBe("2026-12");
  expect(monthKey(monthAt(new Date("2026-11-30T16:00:00Z"), "UTC"))).toBe("2026-11");
  expect(recentMonths(new Date("2027-02-10T00:00:00Z"), "Asia/Shanghai", 4).map(monthKey)).toEqual([
    "2027-02",
    "2027-01",
    "2026-12",
    "2026-11",
  ]);
  expect(percent(3333)).toBe("33.3 %");
  expect(percent(9999)).toBe("99.9 %");
  expect(percent(10000)).toBe("100.0 %");
});
