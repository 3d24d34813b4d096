// The billing page's rules (收费, issue #24 page 4), as plain functions: money in fen (the
// services' unit, docs/api/billing.md "Money and rounding") typed and shown in yuan, the
// ageing buckets, days past due, the units in arrears, the targets, and who may do what
// (billing's role table). No I/O.
import { hasAny, type Role } from "../roles";

/**
 * The collection target, 95 % (9500 bp): the seed's, 001_… (收费员 工作目标及衡量标准: 确保每月…
 * 物业管理费收费率达95%以上; DOMAIN.md §4), as billing holds it (billing.h
 * kCollectionTargetBp). It is no setting of billing's (GetBillingSettings has none): the
 * page shows the service's own `meets_collection_target` beside it.
 */
export const COLLECTION_TARGET_BP = 9500;
/** The owners-in-arrears baseline, 25 % (000_… 二.10: 以欠繳費業主率25%為基準; billing.h kArrearsBaselineBp). */
export const ARREARS_BASELINE_BP = 2500;

/** The most one payment may be: 100 000 000 yuan, as billing checks it (billing.cc CheckPayment: 1..10000000000 fen). */
export const MAX_PAYMENT_FEN = 10_000_000_000;

/**
 * Yuan as typed ("1234", "1,234.5", "¥ 12.30") to fen, exactly (no floating point): at most
 * two decimals; undefined when it is no amount. Zero and negatives are refused by the caller.
 */
export function parseYuan(typed: string): number | undefined {
  const s = typed.trim().replace(/^[¥￥]\s*/u, "").replace(/[,，\s]/gu, "").replace(/元$/u, "");
  const m = /^(\d{1,12})(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return undefined;
  const fen = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return Number.isSafeInteger(fen) ? fen : undefined;
}

/** Fen as yuan with two decimals and thousands separators ("12,345.67"): src/money.ts. */
export { formatFen } from "../money";

/** Basis points as a percentage with two decimals ("96.73 %"); the services round down. */
export function percentBp(bp: number): string {
  return `${(bp / 100).toFixed(2)} %`;
}

/** Whole days past due at `now` (0 on the due day itself, i.e. within 24 h); -1 when not yet due (billing.h DaysPastDue). */
export function daysPastDue(due: Date, now: Date): number {
  const ms = now.getTime() - due.getTime();
  if (ms < 0) return -1;
  return Math.floor(ms / 86_400_000);
}

/** The ageing buckets of GetArrears, in order (billing.h AgeBucket). */
export const AGE_BUCKETS = ["days030Fen", "days3190Fen", "days91180Fen", "daysOver180Fen"] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

export function ageBucket(days: number): AgeBucket {
  if (days <= 30) return "days030Fen";
  if (days <= 90) return "days3190Fen";
  if (days <= 180) return "days91180Fen";
  return "daysOver180Fen";
}

export interface OpenBillLike {
  unitId: string;
  amountFen: bigint;
  paidFen: bigint;
  due?: Date;
}

export interface UnitInArrears {
  unitId: string;
  /** The open balance of its overdue bills. */
  overdueFen: bigint;
  bills: number;
  /** Days past due of its oldest overdue bill. */
  days: number;
}

/** The units with overdue open bills, the longest in arrears first, then the largest. */
export function unitsInArrears(bills: readonly OpenBillLike[], now: Date): UnitInArrears[] {
  const byUnit = new Map<string, UnitInArrears>();
  for (const b of bills) {
    const open = b.amountFen - b.paidFen;
    if (open <= 0n || !b.due) continue;
    const days = daysPastDue(b.due, now);
    if (days < 0) continue;
    const u = byUnit.get(b.unitId) ?? { unitId: b.unitId, overdueFen: 0n, bills: 0, days: 0 };
    u.overdueFen += open;
    u.bills += 1;
    u.days = Math.max(u.days, days);
    byUnit.set(b.unitId, u);
  }
  return [...byUnit.values()].sort((a, b) => b.days - a.days || (b.overdueFen > a.overdueFen ? 1 : b.overdueFen < a.overdueFen ? -1 : 0) || a.unitId.localeCompare(b.unitId));
}

/** Billing's role table (docs/api/billing.md, "Methods and who may call them"). */
const READ_UNIT: Role[] = ["group_admin", "estate_manager", "finance_clerk", "supervisor", "team_lead", "agent"];
export const BILLING = {
  /** GetUnitAccount, ListBills, GetBill, ListReminders. */
  readUnit: READ_UNIT,
  /** GetArrears. */
  arrears: ["group_admin", "estate_manager", "finance_clerk", "supervisor"] as Role[],
  /** ReportCollection. */
  collection: ["group_admin", "estate_manager", "finance_clerk"] as Role[],
  /** RecordPayment. */
  pay: ["group_admin", "estate_manager", "finance_clerk", "agent"] as Role[],
  /** RecordReminder. */
  remind: ["group_admin", "estate_manager", "finance_clerk", "agent"] as Role[],
};
export type BillingAction = keyof typeof BILLING;

export function billingCan(roles: readonly Role[], action: BillingAction): boolean {
  return hasAny(roles, BILLING[action]);
}

export interface PaymentDraft {
  unitId: string;
  amount: string;
  method?: number;
  externalTxnNo: string;
}

/** What is missing or wrong in a payment form, by field (the proto's names); empty when it may be sent. */
export function checkPayment(d: PaymentDraft): Record<string, "required" | "amount" | "txn"> {
  const out: Record<string, "required" | "amount" | "txn"> = {};
  if (!d.unitId) out["payment.unit_id"] = "required";
  const fen = parseYuan(d.amount);
  if (!d.amount.trim()) out["payment.amount_fen"] = "required";
  else if (fen === undefined || fen <= 0 || fen > MAX_PAYMENT_FEN) out["payment.amount_fen"] = "amount";
  if (!d.method) out["payment.method"] = "required";
  const txn = d.externalTxnNo.trim();
  if (!txn) out["payment.external_txn_no"] = "required";
  else if (txn.length > 64 || !/^[\x21-\x7e]+$/.test(txn)) out["payment.external_txn_no"] = "txn";
  return out;
}
