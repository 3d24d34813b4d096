// The dispatch service's client, in a module of its own so that only the pages that use it
// load its descriptors (the first load stays small).
import { createClient, type Client } from "@connectrpc/connect";
import { DispatchService } from "@wuye/clients/gen/wuye/dispatch/v1/dispatch_pb.js";
import { transport } from "./clients";

export const dispatch: Client<typeof DispatchService> = createClient(DispatchService, transport);
