// Reading billing for the page: the estate's open bills (ListBills, open only, every page up
// to a bound) and the units in arrears among them (rules.ts), a unit's account, a bill's
// reminders. Nothing is kept beyond the page's own state.
import type { Bill, Reminder } from "@wuye/clients/gen/wuye/billing/v1/billing_pb.js";
import { billing } from "../api/billing";
import { toDate } from "../estates";
import { unitsInArrears, type UnitInArrears } from "./rules";

const MAX_PAGES = 20;

export async function openBills(estateId: string, unitId = ""): Promise<Bill[]> {
  const out: Bill[] = [];
  let pageToken = "";
  let pages = 0;
  do {
    const page = await billing.listBills({ estateId, unitId, openOnly: true, pageSize: 1000, pageToken });
    out.push(...page.bills);
    pageToken = page.nextPageToken;
  } while (pageToken && ++pages < MAX_PAGES);
  return out;
}

export async function arrearsByUnit(estateId: string, now = new Date()): Promise<UnitInArrears[]> {
  const bills = await openBills(estateId);
  return unitsInArrears(
    bills.map((b) => ({ unitId: b.unitId, amountFen: b.amountFen, paidFen: b.paidFen, due: toDate(b.dueTime) })),
    now,
  );
}

export async function remindersOf(billId: string): Promise<Reminder[]> {
  const out: Reminder[] = [];
  let pageToken = "";
  do {
    const page = await billing.listReminders({ billId, pageSize: 1000, pageToken });
    out.push(...page.reminders);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}
