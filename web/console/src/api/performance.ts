// The performance service's client, in a module of its own so that only the pages that use it
// load its descriptors (the first load stays small).
import { createClient, type Client } from "@connectrpc/connect";
import { PerformanceService } from "@wuye/clients/gen/wuye/performance/v1/performance_pb.js";
import { transport } from "./clients";

export const performance: Client<typeof PerformanceService> = createClient(PerformanceService, transport);
