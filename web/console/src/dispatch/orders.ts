// Reading work orders for the board: dispatch's ListWorkOrders, one call per state asked
// (in parallel), every page; "only mine" is its worker filter.
import type { WorkOrder } from "@wuye/clients/gen/wuye/dispatch/v1/dispatch_pb.js";
import type { WorkOrderState } from "@wuye/clients/gen/wuye/events/v1/dispatch_events_pb.js";
import { dispatch } from "../api/dispatch";
import { allPages } from "../api/paging";

export async function listOrders(estateId: string, states: readonly WorkOrderState[], workerId = ""): Promise<WorkOrder[]> {
  const lists = await Promise.all(
    states.map((state) =>
      allPages<WorkOrder>(async (pageToken) => {
        const page = await dispatch.listWorkOrders({ estateId, state, workerId, pageSize: 1000, pageToken });
        return { items: page.workOrders, next: page.nextPageToken };
      }),
    ),
  );
  return lists.flat();
}

/** The first line of the order's description (for a ticket's order: the ticket's summary). */
export function titleOf(o: WorkOrder): string {
  return o.description.split("\n")[0] ?? "";
}
