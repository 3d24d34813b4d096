// The eldercare service's client, in a module of its own so that only the pages that use it
// load its descriptors (the first load stays small).
import { createClient, type Client } from "@connectrpc/connect";
import { ElderCareService } from "@wuye/clients/gen/wuye/eldercare/v1/eldercare_pb.js";
import { transport } from "./clients";

export const eldercare: Client<typeof ElderCareService> = createClient(ElderCareService, transport);
