// Reading tickets for the desk: the queue of an estate by state group, and the open tickets
// of a unit for the new-request warning (ListTickets' unit_id filter).
import type { Ticket } from "@wuye/clients/gen/wuye/intake/v1/intake_pb.js";
import type { TicketKind } from "@wuye/clients/gen/wuye/common/v1/domain_pb.js";
import type { TicketState } from "@wuye/clients/gen/wuye/events/v1/intake_events_pb.js";
import { intake } from "../api/clients";
import { OPEN_FOR_WARNING, queueOrder } from "./rules";
import { toDate } from "../estates";

const MAX_PAGES = 5;

interface Filter {
  kind?: TicketKind;
  ownerId?: string;
  unitId?: string;
}

async function list(estateId: string, state: TicketState, filter: Filter = {}): Promise<Ticket[]> {
  const out: Ticket[] = [];
  let pageToken = "";
  let pages = 0;
  do {
    const page = await intake.listTickets({ estateId, state, ...filter, pageSize: 1000, pageToken });
    out.push(...page.tickets);
    pageToken = page.nextPageToken;
  } while (pageToken && ++pages < MAX_PAGES);
  return out;
}

/** The estate's tickets in these states (one owner's when given), overdue first, then oldest first. */
export async function queue(estateId: string, states: readonly TicketState[], ownerId = ""): Promise<Ticket[]> {
  const lists = await Promise.all(states.map((s) => list(estateId, s, { ownerId })));
  return lists.flat().sort((a, b) =>
    queueOrder(
      { overdue: a.overdue, answerDueMs: toDate(a.answerDueTime)?.getTime(), receivedMs: toDate(a.receivedTime)?.getTime() ?? 0 },
      { overdue: b.overdue, answerDueMs: toDate(b.answerDueTime)?.getTime(), receivedMs: toDate(b.receivedTime)?.getTime() ?? 0 },
    ),
  );
}

/** Open tickets of the same kind at the same unit: "is this already being handled?" */
export async function openAtUnit(estateId: string, unitId: string, kind: TicketKind): Promise<Ticket[]> {
  const lists = await Promise.all(OPEN_FOR_WARNING.map((s) => list(estateId, s, { kind, unitId })));
  return lists.flat();
}
