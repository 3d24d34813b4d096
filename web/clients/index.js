// @wuye/clients: the typed Connect clients of every wuye service.
//
//   import { duty, createTransport } from "@wuye/clients";
//   import { createClient } from "@connectrpc/connect";
//   const client = createClient(duty.DutyService, createTransport(url, token));
//   const onDuty = await client.listOnDuty({ estateId });
//
// One namespace per protobuf package (directory, duty, billing, dispatch, intake,
// eldercare, performance, common, events, rpc = google.rpc), each holding the package's
// messages (`<Name>Schema`), enums and services (`<Name>Service`), generated from protos/
// into gen/ by the build (scripts/buf.sh generate).
export * from "./gen/index.js";
export { bearer, createTransport } from "./transport.js";
