// The billing page's pure rules (src/billing/rules.ts), no browser: money typed in yuan and
// sent in fen exactly (docs/api/billing.md "Money and rounding"), the ageing buckets and days
// past due as billing counts them (billing.h DaysPastDue, AgeBucket), the units in arrears,
// the payment form's checks (billing.cc CheckPayment), the targets (001_… 收费率95%;
// 000_… 二.10 欠繳費業主率25%) and billing's role table.
import { expect, test } from "@playwright/test";
import {
  ARREARS_BASELINE_BP,
  BILLING,
  COLLECTION_TARGET_BP,
  ageBucket,
  billingCan,
  checkPayment,
  daysPastDue,
  formatFen,
  parseYuan,
  percentBp,
  unitsInArrears,
} from "../src/billing/rules";
import { PAGES, ROLES, type Role } from "../src/roles";

test("yuan typed the ways a clerk types them become fen exactly, never through a float", () => {
  expect(parseYuan("1234")).toBe(123400);
  expect(parseYuan("1,234.5")).toBe(123450);
  expect(parseYuan("¥ 12.30")).toBe(1230);
  expect(parseYuan("0.07")).toBe(7);
  expect(parseYuan("0.1")).toBe(10);
  expect(parseYuan("19.99")).toBe(1999); // 19.99 * 100 is 1998.9999… as a float
  expect(parseYuan("88元")).toBe(8800);
  for (const bad of ["", "abc", "1.234", "-5", "1e3", "1.2.3", "."]) expect(parseYuan(bad)).toBeUndefined();
});

test("fen shown as yuan with separators", () => {
  expect(formatFen(0n)).toBe("0.00");
  expect(formatFen(7n)).toBe("0.07");
  expect(formatFen(615834n)).toBe("6,158.34");
  expect(formatFen(10000000000n)).toBe("100,000,000.00");
  expect(formatFen(-1250n)).toBe("-12.50");
  expect(formatFen(1999)).toBe("19.99");
});

test("the 95 % target and the 25 % baseline, in basis points, as billing holds them", () => {
  expect(COLLECTION_TARGET_BP).toBe(9500);
  expect(ARREARS_BASELINE_BP).toBe(2500);
  // Billing rounds rates down: 94.999 % is 9499 bp, short of the target.
  expect(percentBp(9499)).toBe("94.99 %");
  expect(percentBp(9673)).toBe("96.73 %");
});

test("days past due and the ageing buckets (billing.h: whole days; 0–30, 31–90, 91–180, over 180)", () => {
  const due = new Date("2026-12-01T16:00:00Z");
  expect(daysPastDue(due, new Date("2026-12-01T15:59:59Z"))).toBe(-1);
  expect(daysPastDue(due, due)).toBe(0);
  expect(daysPastDue(due, new Date("2026-12-02T15:59:59Z"))).toBe(0);
  expect(daysPastDue(due, new Date("2026-12-02T16:00:00Z"))).toBe(1);
  expect([0, 30, 31, 90, 91, 180, 181].map(ageBucket)).toEqual([
    "days030Fen",
    "days030Fen",
    "days3190Fen",
    "days3190Fen",
    "days91180Fen",
    "days91180Fen",
    "daysOver180Fen",
  ]);
});

test("units in arrears: only overdue open balances, per unit, the longest overdue first", () => {
  const now = new Date("2026-12-06T04:00:00Z");
  const d = (iso: string) => new Date(iso);
  const list = unitsInArrears(
    [
      { unitId: "a", amountFen: 10000n, paidFen: 2500n, due: d("2026-12-01T16:00:00Z") },
      { unitId: "a", amountFen: 5000n, paidFen: 0n, due: d("2026-11-01T16:00:00Z") },
      { unitId: "b", amountFen: 9000n, paidFen: 9000n, due: d("2026-10-01T16:00:00Z") }, // settled
      { unitId: "c", amountFen: 3000n, paidFen: 0n, due: d("2026-12-31T16:00:00Z") }, // not due yet
      { unitId: "d", amountFen: 20000n, paidFen: 0n, due: d("2026-12-01T16:00:00Z") },
      { unitId: "e", amountFen: 100n, paidFen: 0n }, // no due time
    ],
    now,
  );
  expect(list.map((u) => [u.unitId, u.overdueFen, u.bills, u.days])).toEqual([
    ["a", 12500n, 2, 34],
    ["d", 20000n, 1, 4],
  ]);
});

test("the payment form's checks name the proto's fields, as billing does (billing.cc CheckPayment)", () => {
  const ok = { unitId: "u", amount: "12.30", method: 1, externalTxnNo: "WX2026120600001" };
  expect(checkPayment(ok)).toEqual({});
  expect(checkPayment({ unitId: "", amount: "", method: undefined, externalTxnNo: "" })).toEqual({
    "payment.unit_id": "required",
    "payment.amount_fen": "required",
    "payment.method": "required",
    "payment.external_txn_no": "required",
  });
  expect(checkPayment({ ...ok, amount: "0" })).toEqual({ "payment.amount_fen": "amount" });
  expect(checkPayment({ ...ok, amount: "12.345" })).toEqual({ "payment.amount_fen": "amount" });
  expect(checkPayment({ ...ok, amount: "100000000.01" })).toEqual({ "payment.amount_fen": "amount" });
  expect(checkPayment({ ...ok, amount: "100000000" })).toEqual({});
  expect(checkPayment({ ...ok, externalTxnNo: "WX 1" })).toEqual({ "payment.external_txn_no": "txn" });
  expect(checkPayment({ ...ok, externalTxnNo: "收据1" })).toEqual({ "payment.external_txn_no": "txn" });
  expect(checkPayment({ ...ok, externalTxnNo: "x".repeat(65) })).toEqual({ "payment.external_txn_no": "txn" });
});

test("billing's role table (docs/api/billing.md): who reads, who takes payments and reminders", () => {
  const who = (a: keyof typeof BILLING) => ROLES.filter((r) => billingCan([r], a)).sort();
  expect(who("pay")).toEqual(["agent", "estate_manager", "finance_clerk", "group_admin"]);
  expect(who("remind")).toEqual(["agent", "estate_manager", "finance_clerk", "group_admin"]);
  expect(who("collection")).toEqual(["estate_manager", "finance_clerk", "group_admin"]);
  expect(who("arrears")).toEqual(["estate_manager", "finance_clerk", "group_admin", "supervisor"]);
  expect(who("readUnit")).toEqual(["agent", "estate_manager", "finance_clerk", "group_admin", "supervisor", "team_lead"]);
  // The page is for exactly those who read something on it; everyone who may act can read.
  const page = PAGES.find((p) => p.name === "billing")!;
  expect(page.ready).toBe(true);
  const readers = new Set<Role>([...BILLING.readUnit, ...BILLING.arrears, ...BILLING.collection]);
  expect([...page.roles].sort()).toEqual([...readers].sort());
  for (const r of [...BILLING.pay, ...BILLING.remind]) expect(BILLING.readUnit).toContain(r);
  // A technician or a cleaner has no billing page.
  expect(billingCan(["technician", "cleaner"], "readUnit")).toBe(false);
});
