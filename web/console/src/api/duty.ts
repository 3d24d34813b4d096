// The duty service's client, in a module of its own so that only the pages that use it
// load its descriptors (the first load stays small).
import { createClient, type Client } from "@connectrpc/connect";
import { DutyService } from "@wuye/clients/gen/wuye/duty/v1/duty_pb.js";
import { transport } from "./clients";

export const duty: Client<typeof DutyService> = createClient(DutyService, transport);
