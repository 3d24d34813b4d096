// 经理看板: the calls behind each figure, one estate, one day (its month for the monthly
// figures). The same RPCs with the same requests as wuye-demo's summary
// (tools/demo_day/reports.cc); the arithmetic is in figures.ts.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { Priority } from "@wuye/clients/gen/wuye/common/v1/domain_pb.js";
import { TicketState } from "@wuye/clients/gen/wuye/events/v1/intake_events_pb.js";
import type { CallbackCoverage, ComplaintReplyReport, HotlineReport } from "@wuye/clients/gen/wuye/intake/v1/intake_pb.js";
import type { Arrears, CollectionReport } from "@wuye/clients/gen/wuye/billing/v1/billing_pb.js";
import type { QualityLedger } from "@wuye/clients/gen/wuye/performance/v1/performance_pb.js";
import { intake } from "../api/clients";
import { billing } from "../api/billing";
import { dispatch } from "../api/dispatch";
import { eldercare } from "../api/eldercare";
import { performance } from "../api/performance";
import { newRequestId } from "../api/request-id";
import { allPages } from "../api/paging";
import {
  monthOf,
  slaPerPriority,
  ticketsOfDay,
  visitsDue,
  type Day,
  type OrderRow,
  type SlaFigures,
  type TicketFigures,
  type TicketRow,
} from "./figures";

const ms = (ts: Timestamp | undefined) => (ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0);


/** intake ListTickets of the estate (every state, every page), counted for the day. */
export async function loadTickets(estateId: string, day: Day, zone: string): Promise<TicketFigures> {
  const rows = await allPages<TicketRow>(async (pageToken) => {
    const r = await intake.listTickets({ estateId, pageSize: 1000, pageToken });
    return {
      items: r.tickets.map((t) => ({ state: TicketState[t.state], receivedMs: ms(t.receivedTime ?? t.createTime) })),
      next: r.nextPageToken,
    };
  });
  return ticketsOfDay(rows, day, zone);
}

/** dispatch ListWorkOrders of the estate (every page), SLA per priority for the day. */
export async function loadSla(estateId: string, day: Day, zone: string): Promise<[string, SlaFigures][]> {
  const rows = await allPages<OrderRow>(async (pageToken) => {
    const r = await dispatch.listWorkOrders({ estateId, pageSize: 1000, pageToken });
    return {
      items: r.workOrders.map((w) => ({
        priority: Priority[w.priority],
        receivedMs: ms(w.receivedTime ?? w.createTime),
        slaMet: w.slaMet,
        slaMetUnpaused: w.slaMetUnpaused,
        slaBreached: w.slaBreached,
      })),
      next: r.nextPageToken,
    };
  });
  return slaPerPriority(rows, day, zone);
}

/** intake GetCallbackCoverage for the day's month. */
export function loadCoverage(estateId: string, day: Day): Promise<CallbackCoverage> {
  return intake.getCallbackCoverage({ estateId, month: monthOf(day) });
}

/**
 * intake GetHotlineReport and GetComplaintReplyReport for the day's month: the 12345 orders
 * (delivered in time, replied but not delivered, the government's satisfaction) and the
 * complaints' written replies.
 */
export async function loadReplies(estateId: string, day: Day): Promise<{ hotline: HotlineReport; complaints: ComplaintReplyReport }> {
  const month = monthOf(day);
  const [hotline, complaints] = await Promise.all([
    intake.getHotlineReport({ estateId, month }),
    intake.getComplaintReplyReport({ estateId, month }),
  ]);
  return { hotline, complaints };
}

/**
 * billing ReportCollection for the day's month. A report before the month's close is as of
 * the call and published by billing (docs/api/billing.md); a fresh request_id each time the
 * page reads it: each read is a new question ("how are we now?"), not a resend.
 */
export function loadCollection(estateId: string, day: Day): Promise<CollectionReport> {
  return billing.reportCollection({ requestId: newRequestId(), estateId, period: monthOf(day) });
}

/** billing GetArrears: the open balances as of the call. */
export function loadArrears(estateId: string): Promise<Arrears> {
  return billing.getArrears({ estateId });
}

/** performance GetQualityLedger for the day's month (服务质量标准分值). */
export function loadQuality(estateId: string, day: Day): Promise<QualityLedger> {
  return performance.getQualityLedger({ estateId, period: monthOf(day) });
}

/** eldercare ListDueVisits up to `asOf` (every page): counts only, nothing of the elder kept. */
export async function loadVisits(estateId: string, asOf: Day): Promise<{ due: number; overdue: number }> {
  const rows = await allPages<{ overdue: boolean }>(async (pageToken) => {
    const r = await eldercare.listDueVisits({ estateId, asOf, pageSize: 1000, pageToken });
    return { items: r.visits.map((v) => ({ overdue: v.overdue })), next: r.nextPageToken };
  });
  return visitsDue(rows);
}
