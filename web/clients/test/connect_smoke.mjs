// An independent client of wuye-gateway: the official Connect-ES client (createClient of
// @connectrpc/connect, createConnectTransport of @connectrpc/connect-node over HTTP/1.1)
// with the generated clients of @wuye/clients (gen/, built by `make build`). The gateway's
// cross-process test runs it; by hand:
//
//   WUYE_GATEWAY_URL=http://127.0.0.1:50080 WUYE_TOKEN=<jwt> WUYE_ESTATE_ID=<uuid> \
//     node web/clients/test/connect_smoke.mjs
//
// Environment:
//   WUYE_GATEWAY_URL      required: the gateway's base URL, e.g. http://127.0.0.1:50080
//   WUYE_TOKEN            the bearer token (sent as `Authorization: Bearer <token>`);
//                         without it the calls go unauthenticated (the service refuses)
//   WUYE_ESTATE_ID        required unless WUYE_EXPECT_ERROR=1: an estate the token may
//                         read (staff of the estate)
//   WUYE_STREAM_MESSAGES  messages to read from the stream before aborting it (default 1);
//                         WatchTasks first sends the tasks open now, so with N open tasks
//                         at the estate N messages come at once, more wait for changes
//   WUYE_TIMEOUT_MS       each call's deadline (Connect-Timeout-Ms), default 10000: the
//                         script never hangs; a stream that gets too few messages ends
//                         with deadline_exceeded
//   WUYE_BINARY=1         application/proto bodies instead of JSON
//   WUYE_HTTP_GET=1       Connect's GET for the unary call, where Connect-ES allows it: only
//                         for a method marked `option idempotency_level = NO_SIDE_EFFECTS`
//                         (ListOnDuty is); the unary line says
//                         which in "httpGet"
//   WUYE_EXPECT_ERROR=1   instead: one call with a bad field (ListOnDuty, estate_id
//                         "not-an-id") and the error it gets, with its details decoded
//
// Calls (default mode), in order:
//   unary   wuye.duty.v1.DutyService/ListOnDuty {estate_id}
//   stream  wuye.duty.v1.DutyService/WatchTasks {estate_id}, read until
//           WUYE_STREAM_MESSAGES messages, then aborted (AbortController)
//
// Output: one JSON line per result on stdout (messages in protobuf's JSON mapping):
//   {"call":"unary","method":"wuye.duty.v1.DutyService/ListOnDuty","ok":true,"httpGet":false,"message":{...}}
//   {"call":"stream","method":"wuye.duty.v1.DutyService/WatchTasks","ok":true,"index":0,"message":{...}}
//   {"call":"stream","method":"...","ok":true,"done":true,"messages":1}   (after the abort)
// A call that fails prints
//   {"call":"unary"|"stream","method":...,"ok":false,"code":"unavailable","message":"...","details":[...]}
// (code: Connect's name, e.g. invalid_argument, unauthenticated) and the script exits 1.
// WUYE_EXPECT_ERROR=1 prints
//   {"call":"error","method":"...ListOnDuty","ok":false,"code":"invalid_argument",
//    "message":"...","details":[{"type":"google.rpc.BadRequest","value":{...}}],
//    "fieldViolations":[{"field":"estate_id","description":"..."}],"errorInfo":[...]}
// and exits 0 when the call failed (whatever the code: the test checks it), 1 when it
// succeeded. Exit 2: bad environment (nothing called).
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { createRegistry, toJson } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { duty, rpc, bearer } from "../index.js";

const env = process.env;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function usage(msg) {
  process.stderr.write(`connect_smoke: ${msg} (see the top of ${import.meta.url})\n`);
  process.exit(2);
}

const baseUrl = env.WUYE_GATEWAY_URL;
if (!baseUrl) usage("WUYE_GATEWAY_URL is required");
const expectError = env.WUYE_EXPECT_ERROR === "1";
const estateId = env.WUYE_ESTATE_ID ?? "";
if (!expectError && !estateId) usage("WUYE_ESTATE_ID is required");
const wanted = Number.parseInt(env.WUYE_STREAM_MESSAGES ?? "1", 10);
if (!Number.isInteger(wanted) || wanted < 1) usage("WUYE_STREAM_MESSAGES must be ≥ 1");
const timeoutMs = Number.parseInt(env.WUYE_TIMEOUT_MS ?? "10000", 10);
if (!Number.isInteger(timeoutMs) || timeoutMs < 1) usage("WUYE_TIMEOUT_MS must be ≥ 1");

const transport = createConnectTransport({
  baseUrl,
  httpVersion: "1.1",
  useBinaryFormat: env.WUYE_BINARY === "1",
  useHttpGet: env.WUYE_HTTP_GET === "1",
  interceptors: env.WUYE_TOKEN ? [bearer(env.WUYE_TOKEN)] : [],
});
const client = createClient(duty.DutyService, transport);
const methods = duty.DutyService.method;
const name = (m) => `${duty.DutyService.typeName}/${m.name}`;

// The google.rpc details wuye's services send, for the error's `details` in JSON.
const detailTypes = createRegistry(rpc.BadRequestSchema, rpc.ErrorInfoSchema);

function errorLine(call, method, err) {
  const e = ConnectError.from(err);
  const details = e.findDetails(detailTypes).map((m) => ({
    type: m.$typeName,
    value: toJson(detailTypes.getMessage(m.$typeName), m),
  }));
  return {
    call,
    method: name(method),
    ok: false,
    code: codeToString(e.code),
    message: e.rawMessage,
    details,
  };
}

async function unary() {
  const m = methods.listOnDuty;
  try {
    const res = await client.listOnDuty({ estateId }, { timeoutMs });
    const httpGet =
      env.WUYE_HTTP_GET === "1" && m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
    out({ call: "unary", method: name(m), ok: true, httpGet, message: toJson(m.output, res) });
    return true;
  } catch (err) {
    out(errorLine("unary", m, err));
    return false;
  }
}

async function stream() {
  const m = methods.watchTasks;
  const abort = new AbortController();
  let n = 0;
  try {
    for await (const update of client.watchTasks(
      { estateId },
      { signal: abort.signal, timeoutMs },
    )) {
      out({ call: "stream", method: name(m), ok: true, index: n, message: toJson(m.output, update) });
      n += 1;
      if (n >= wanted) {
        abort.abort();
        break;
      }
    }
  } catch (err) {
    // Our own abort ends the call as `canceled`: that is the way out, not a failure.
    if (!(abort.signal.aborted && ConnectError.from(err).code === Code.Canceled)) {
      out(errorLine("stream", m, err));
      return false;
    }
  }
  if (n < wanted) {
    out({ call: "stream", method: name(m), ok: false, code: "unknown",
          message: `the stream ended after ${n} of ${wanted} messages`, details: [] });
    return false;
  }
  out({ call: "stream", method: name(m), ok: true, done: true, messages: n });
  return true;
}

async function badField() {
  const m = methods.listOnDuty;
  try {
    const res = await client.listOnDuty({ estateId: "not-an-id" }, { timeoutMs });
    out({ call: "error", method: name(m), ok: true, message: toJson(m.output, res) });
    return false;
  } catch (err) {
    const line = errorLine("error", m, err);
    const e = ConnectError.from(err);
    line.fieldViolations = e
      .findDetails(rpc.BadRequestSchema)
      .flatMap((d) => d.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
    line.errorInfo = e
      .findDetails(rpc.ErrorInfoSchema)
      .map((i) => toJson(rpc.ErrorInfoSchema, i));
    out(line);
    return true;
  }
}

let ok;
if (expectError) {
  ok = await badField();
} else {
  ok = (await unary()) && (await stream());
}
process.exit(ok ? 0 : 1);
