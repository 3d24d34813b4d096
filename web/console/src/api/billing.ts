// The billing service's client, in a module of its own so that only the pages that use it
// load its descriptors (the first load stays small).
import { createClient, type Client } from "@connectrpc/connect";
import { BillingService } from "@wuye/clients/gen/wuye/billing/v1/billing_pb.js";
import { transport } from "./clients";

export const billing: Client<typeof BillingService> = createClient(BillingService, transport);
