// 经理看板's arithmetic (src/manager/figures.ts), no browser: the day in the estate's
// calendar, the day's tickets by state and the SLA per priority counted as wuye-demo counts
// them (tools/demo_day/reports.cc, Day::ReportsStep), the rates and money as the services
// give them, and which of the page's roles reads which figure (docs/api/<service>.md).
import { expect, test } from "@playwright/test";
import {
  ARREARS_BASELINE_BP,
  COLLECTION_TARGET_BP,
  FIGURES,
  FIGURE_ROLES,
  addDays,
  arrearsTotal,
  asksCollection,
  dayIn,
  dayText,
  figuresFor,
  monthOf,
  parseDay,
  percent,
  slaPerPriority,
  ticketsOfDay,
  visitsDue,
  visitsHorizon,
  yuan,
  type Figure,
  type OrderRow,
  type TicketRow,
} from "../src/manager/figures";
import { PAGES, type Role } from "../src/roles";

const SH = "Asia/Shanghai";
const at = (iso: string) => Date.parse(iso);
const DAY = { year: 2026, month: 12, day: 5 };

test("a day of the estate's calendar: parsed strictly, counted across months and years, taken in the estate's zone", () => {
  expect(parseDay("2026-12-05")).toEqual(DAY);
  for (const bad of ["2026-02-30", "2026-13-01", "2026-1-5", "", "2026-12-05T00:00", undefined, null]) {
    expect(parseDay(bad), String(bad)).toBeUndefined();
  }
  expect(parseDay("2028-02-29")).toEqual({ year: 2028, month: 2, day: 29 });
  expect(dayText(addDays(DAY, 27))).toBe("2027-01-01");
  expect(dayText(addDays({ year: 2027, month: 3, day: 1 }, -1))).toBe("2027-02-28");
  // 16:00 UTC is midnight in Shanghai: the instant before is the 5th, from it the 6th.
  expect(dayIn(at("2026-12-05T15:59:59.999Z"), SH)).toEqual(DAY);
  expect(dayIn(at("2026-12-05T16:00:00Z"), SH)).toEqual({ year: 2026, month: 12, day: 6 });
  // Another estate's zone gives another day for the same instant.
  expect(dayIn(at("2026-12-05T16:00:00Z"), "Europe/London")).toEqual(DAY);
  expect(monthOf(DAY)).toEqual({ year: 2026, month: 12 });
  // wuye-demo's due visits: as_of = today + 7 (the care worker's coming week).
  expect(dayText(visitsHorizon({ year: 2026, month: 12, day: 28 }))).toBe("2027-01-04");
});

test("the day's tickets by state: those received on the day in the estate's calendar, as wuye-demo counts its day", () => {
  // wuye-demo's day of 2026-12-05: "Tickets of the day: 19 (answered 5, closed 12,
  // in_progress 1, reopened 1)", and tickets of other days around it.
  const rows: TicketRow[] = [];
  const add = (state: string, n: number, iso: string) => {
    for (let i = 0; i < n; i++) rows.push({ state, receivedMs: at(iso) });
  };
  add("ANSWERED", 5, "2026-12-05T00:40:00Z");
  add("CLOSED", 12, "2026-12-05T01:05:00Z");
  add("IN_PROGRESS", 1, "2026-12-05T08:30:00Z");
  add("REOPENED", 1, "2026-12-05T15:59:00Z"); // 23:59 in Shanghai: still the day
  add("RECEIVED", 3, "2026-12-05T16:00:00Z"); // 00:00 of the 6th: not the day
  add("CLOSED", 2, "2026-12-04T15:59:59Z"); // 23:59:59 of the 4th: not the day
  const f = ticketsOfDay(rows, DAY, SH);
  expect(f.total).toBe(19);
  // In the order of a ticket's life, not as they came.
  expect(f.byState).toEqual([
    ["ANSWERED", 5],
    ["IN_PROGRESS", 1],
    ["CLOSED", 12],
    ["REOPENED", 1],
  ]);
  expect(ticketsOfDay(rows, { year: 2020, month: 1, day: 1 }, SH)).toEqual({ total: 0, byState: [] });
});

test("SLA per priority: a breached clock is missed even when met after, else met, else open (wuye-demo's rule)", () => {
  const o = (priority: string, slaMet: boolean, slaBreached: boolean, iso = "2026-12-05T02:00:00Z"): OrderRow => ({
    priority,
    receivedMs: at(iso),
    slaMet,
    slaMetUnpaused: slaMet,
    slaBreached,
  });
  // The demo's day: big 1 (open), emergency 4 (1 met, 3 missed), small 4 (4 met).
  const rows = [
    o("BIG", false, false),
    o("EMERGENCY", true, false),
    o("EMERGENCY", false, true),
    o("EMERGENCY", true, true), // finished, but after its deadline: missed
    o("EMERGENCY", false, true, "2026-12-05T15:00:00Z"), // 23:00 in Shanghai
    ...[1, 2, 3, 4].map(() => o("SMALL", true, false)),
    o("SMALL", false, true, "2026-12-06T01:00:00Z"), // another day
  ];
  expect(slaPerPriority(rows, DAY, SH)).toEqual([
    ["EMERGENCY", { orders: 4, met: 1, metUnpaused: 1, missed: 3, open: 0 }],
    ["SMALL", { orders: 4, met: 4, metUnpaused: 4, missed: 0, open: 0 }],
    ["BIG", { orders: 1, met: 0, metUnpaused: 0, missed: 0, open: 1 }],
  ]);
  expect(slaPerPriority(rows, { year: 2026, month: 12, day: 6 }, SH)).toEqual([
    ["SMALL", { orders: 1, met: 0, metUnpaused: 0, missed: 1, open: 0 }],
  ]);
});

test("SLA met with and without pauses (issue 27 §2: pausing cannot hide misses)", () => {
  const o = (slaMet: boolean, slaMetUnpaused: boolean, slaBreached = false): OrderRow => ({
    priority: "SMALL",
    receivedMs: at("2026-12-05T02:00:00Z"),
    slaMet,
    slaMetUnpaused,
    slaBreached,
  });
  // Met both ways; met only thanks to a pause (its window missed as if never paused);
  // breached (missed either way, whatever the flags); still open.
  const rows = [o(true, true), o(true, false), o(true, false), o(true, true, true), o(false, false)];
  expect(slaPerPriority(rows, DAY, SH)).toEqual([["SMALL", { orders: 5, met: 3, metUnpaused: 1, missed: 1, open: 1 }]]);
});

test("billing's collection report is asked of the estate's current month only (it fixes an unbilled past month)", () => {
  const today = { year: 2026, month: 12, day: 6 };
  expect(asksCollection(DAY, today)).toBe(true);
  expect(asksCollection({ year: 2026, month: 12, day: 31 }, today)).toBe(true);
  expect(asksCollection({ year: 2026, month: 11, day: 30 }, today)).toBe(false);
  expect(asksCollection({ year: 2027, month: 1, day: 1 }, today)).toBe(false);
  expect(asksCollection({ year: 2025, month: 12, day: 6 }, today)).toBe(false);
});

test("visits due: how many and how many overdue, nothing else of the elder", () => {
  expect(visitsDue([])).toEqual({ due: 0, overdue: 0 });
  expect(visitsDue([{ overdue: true }, { overdue: false }, { overdue: true }])).toEqual({ due: 3, overdue: 2 });
});

test("rates and money as the services give them: basis points rounded down by billing, fen exact", () => {
  // DOMAIN.md §4 and 001_… (四)工作目标: 收费率达95%以上; 000_… 二.10: 以欠繳費業主率25%為基準.
  expect(COLLECTION_TARGET_BP).toBe(9500);
  expect(ARREARS_BASELINE_BP).toBe(2500);
  expect(percent(9673)).toBe("96.73%");
  expect(percent(9499)).toBe("94.99%"); // billing's 94.999 % is 9499 bp: short of the target
  expect(percent(10000)).toBe("100.00%");
  expect(percent(5)).toBe("0.05%");
  expect(percent(0)).toBe("0.00%");
  expect(percent(-250)).toBe("-2.50%");
  expect(yuan(5682627n)).toBe("56826.27");
  expect(yuan(5n)).toBe("0.05");
  expect(yuan(0n)).toBe("0.00");
  expect(yuan(-150n)).toBe("-1.50");
  // int64 beyond a double's exact integers stays exact.
  expect(yuan(900719925474099312n)).toBe("9007199254740993.12");
  expect(arrearsTotal({ days030Fen: 615834n, days3190Fen: 1n, days91180Fen: 20n, daysOver180Fen: 300n })).toBe(616155n);
});

test("who reads which figure: the services' role tables, for the page's four roles", () => {
  // docs/api/intake.md (ListTickets, GetCallbackCoverage, GetHotlineReport and
  // GetComplaintReplyReport), dispatch.md (ListWorkOrders),
  // billing.md (ReportCollection, GetArrears), performance.md (GetQualityLedger: its
  // managers), eldercare.md (ListDueVisits: front desk, estate_manager, care roles).
  const expected: Record<string, Figure[]> = {
    estate_manager: ["tickets", "sla", "coverage", "hotline", "collection", "arrears", "quality", "visits"],
    supervisor: ["tickets", "sla", "coverage", "hotline", "arrears", "quality", "visits"],
    quality_inspector: ["tickets", "sla", "coverage", "hotline", "quality"],
    group_admin: ["tickets", "sla", "coverage", "hotline", "collection", "arrears", "quality"],
  };
  const page = PAGES.find((p) => p.name === "manager")!;
  expect([...page.roles].sort()).toEqual(Object.keys(expected).sort());
  for (const [role, figures] of Object.entries(expected)) {
    expect(figuresFor([role as Role]), role).toEqual(figures);
  }
  // Several roles: what any of them may read.
  expect(figuresFor(["quality_inspector", "supervisor"])).toEqual(expected.supervisor);
  expect(figuresFor([])).toEqual([]);
  expect(Object.keys(FIGURE_ROLES).sort()).toEqual([...FIGURES].sort());
  // The page's other readers cannot reach it (roles.ts): the finance clerk reads the
  // collection on the billing page instead.
  expect(page.roles).not.toContain("finance_clerk" as never);
});
