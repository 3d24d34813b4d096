// Checks connect_smoke.mjs itself, before any gateway exists to run it against: a stand-in
// DutyService served by Connect-ES's own server (@connectrpc/connect-node's adapter, the
// Connect protocol over HTTP/1.1 on 127.0.0.1, a free port) answers the script's calls as
// the gateway is to: ListOnDuty, WatchTasks (two open tasks, then nothing until the
// client goes), and INVALID_ARGUMENT with a google.rpc.BadRequest for a bad estate_id; no
// token → unauthenticated. Then the script runs in each mode against it, and once against
// a port where nothing listens (unavailable). ctest connect_smoke_selftest.
//
//   node web/clients/test/connect_smoke_selftest.mjs
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { ConnectError, Code } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { duty, events, rpc } from "../index.js";

const script = fileURLToPath(new URL("./connect_smoke.mjs", import.meta.url));
const ESTATE = "0190a3b4-0000-7000-8000-000000000001";
const TOKEN = "test-token";

let watchEnded = null; // resolved with the reason WatchTasks ended on the server
const seen = { authorization: [], contentType: [] };

function checkCaller(ctx) {
  seen.authorization.push(ctx.requestHeader.get("authorization"));
  seen.contentType.push(ctx.requestHeader.get("content-type"));
  if (ctx.requestHeader.get("authorization") !== `Bearer ${TOKEN}`) {
    throw new ConnectError("no valid bearer token", Code.Unauthenticated);
  }
}

function checkEstate(id) {
  if (!/^[0-9a-f-]{36}$/.test(id)) {
    throw new ConnectError("estate_id: not an id", Code.InvalidArgument, undefined, [
      {
        desc: rpc.BadRequestSchema,
        value: { fieldViolations: [{ field: "estate_id", description: "not an id" }] },
      },
      { desc: rpc.ErrorInfoSchema, value: { reason: "BAD_ID", domain: "wuye" } },
    ]);
  }
}

const impl = {
  async listOnDuty(req, ctx) {
    checkCaller(ctx);
    checkEstate(req.estateId);
    return {
      onDuty: [{ staffId: "staff-1", role: events.StaffRole.TEAM_LEAD, shiftId: "shift-1" }],
    };
  },
  async *watchTasks(req, ctx) {
    checkCaller(ctx);
    checkEstate(req.estateId);
    let resolve;
    watchEnded = new Promise((r) => (resolve = r));
    try {
      for (const id of ["task-1", "task-2"]) {
        yield { initial: true, task: { id, estateId: req.estateId, title: "a task" } };
      }
      // Then changes only: none come, until the client goes away.
      await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
      resolve("client went away");
      // Connect-Timeout-Ms reaches this server too: on a loaded machine its deadline may
      // fire before the client's, and the stream must then end as deadline_exceeded, not
      // cleanly (the client would see too few messages and no error).
      throw ConnectError.from(ctx.signal.reason);
    } finally {
      resolve("ended");
    }
  },
};

function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}

// This process's environment without any WUYE_ variable, and then the case's own.
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith("WUYE_")),
);

function run(env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      env: { ...baseEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const lines = stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
      resolve({ code, lines, stderr });
    });
  });
}

const server = createServer(
  connectNodeAdapter({ routes: (router) => router.service(duty.DutyService, impl) }),
);
const port = await listen(server);
const url = `http://127.0.0.1:${port}`;
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}\n${err.stack ?? err}`);
  }
}

for (const binary of ["0", "1"]) {
  await check(`unary and stream, ${binary === "1" ? "binary" : "JSON"} bodies`, async () => {
    seen.contentType.length = 0;
    const r = await run({
      WUYE_GATEWAY_URL: url, WUYE_TOKEN: TOKEN, WUYE_ESTATE_ID: ESTATE,
      WUYE_STREAM_MESSAGES: "2", WUYE_BINARY: binary,
    });
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.lines));
    assert.equal(r.lines.length, 4, JSON.stringify(r.lines));
    const [u, s0, s1, done] = r.lines;
    assert.deepEqual(
      { call: u.call, ok: u.ok, method: u.method },
      { call: "unary", ok: true, method: "wuye.duty.v1.DutyService/ListOnDuty" },
    );
    assert.equal(u.message.onDuty[0].staffId, "staff-1");
    assert.equal(s0.call, "stream");
    assert.equal(s0.message.task.id, "task-1");
    assert.equal(s0.message.initial, true);
    assert.equal(s1.message.task.id, "task-2");
    assert.deepEqual({ done: done.done, messages: done.messages }, { done: true, messages: 2 });
    // The abort reached the server: the stream's handler saw the client go.
    assert.equal(await watchEnded, "client went away");
    const want = binary === "1" ? /^application\/(connect\+)?proto$/ : /^application\/(connect\+)?json$/;
    for (const ct of seen.contentType) assert.match(ct, want);
  });
}

await check("WUYE_HTTP_GET=1: ListOnDuty is side-effect-free (idempotency_level), so a GET", async () => {
  const r = await run({
    WUYE_GATEWAY_URL: url, WUYE_TOKEN: TOKEN, WUYE_ESTATE_ID: ESTATE, WUYE_HTTP_GET: "1",
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines[0].httpGet, true);
  assert.equal(r.lines[0].ok, true);
});

await check("the bearer token is sent as Authorization", async () => {
  assert.ok(seen.authorization.length > 0);
  for (const a of seen.authorization) assert.equal(a, `Bearer ${TOKEN}`);
});

await check("no token: unauthenticated, exit 1", async () => {
  const r = await run({ WUYE_GATEWAY_URL: url, WUYE_ESTATE_ID: ESTATE });
  assert.equal(r.code, 1);
  assert.equal(r.lines.length, 1);
  assert.deepEqual(
    { call: r.lines[0].call, ok: r.lines[0].ok, code: r.lines[0].code },
    { call: "unary", ok: false, code: "unauthenticated" },
  );
});

await check("WUYE_EXPECT_ERROR=1: invalid_argument with the field violation decoded", async () => {
  const r = await run({ WUYE_GATEWAY_URL: url, WUYE_TOKEN: TOKEN, WUYE_EXPECT_ERROR: "1" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.length, 1);
  const e = r.lines[0];
  assert.equal(e.call, "error");
  assert.equal(e.code, "invalid_argument");
  assert.equal(e.message, "estate_id: not an id");
  assert.deepEqual(e.fieldViolations, [{ field: "estate_id", description: "not an id" }]);
  assert.deepEqual(e.errorInfo, [{ reason: "BAD_ID", domain: "wuye" }]);
  assert.deepEqual(e.details.map((d) => d.type), ["google.rpc.BadRequest", "google.rpc.ErrorInfo"]);
});

await check("too few stream messages: deadline_exceeded, exit 1", async () => {
  const r = await run({
    WUYE_GATEWAY_URL: url, WUYE_TOKEN: TOKEN, WUYE_ESTATE_ID: ESTATE,
    WUYE_STREAM_MESSAGES: "3", WUYE_TIMEOUT_MS: "1500",
  });
  assert.equal(r.code, 1);
  const last = r.lines.at(-1);
  assert.equal(last.call, "stream");
  assert.equal(last.ok, false);
  assert.equal(last.code, "deadline_exceeded");
});

server.closeAllConnections?.();
await new Promise((r) => server.close(r));

await check("nothing listening: unavailable, exit 1", async () => {
  // Port 1 (tcpmux), where nothing listens. Not the port the stand-in had: on Linux 6.18 the
  // kernel hands that same port to the next socket bound to port 0, perhaps another test's
  // server, the moment it is closed.
  const r = await run({ WUYE_GATEWAY_URL: "http://127.0.0.1:1", WUYE_TOKEN: TOKEN, WUYE_ESTATE_ID: ESTATE });
  assert.equal(r.code, 1);
  assert.equal(r.lines.length, 1);
  assert.equal(r.lines[0].code, "unavailable");
});

await check("bad environment: exit 2, nothing called", async () => {
  const r = await run({ WUYE_TOKEN: TOKEN });
  assert.equal(r.code, 2);
  assert.equal(r.lines.length, 0);
  assert.match(r.stderr, /WUYE_GATEWAY_URL is required/);
});

console.log(`connect_smoke: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
