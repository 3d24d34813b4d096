// 值班 in a real browser against the real suite (issue #24, page 7; docs/api/duty.md).
// The supervisor on duty (钱丽) has her inbox open; an agent (李娜), in another browser,
// takes a major complaint: duty raises it for the supervisor and the estate manager
// ("major complaint | intake.complaint.major | supervisor, estate manager"), and it reaches
// the open inbox live. She takes it; the stream survives the network going away without a
// row twice; she hands over to the estate manager (000_… 二.1 交接班), who acknowledges.
import { expect, test, type Page } from "@playwright/test";
import { field, screenshot, signInAs, signOut } from "./desk";

const run = Date.now().toString(36).slice(-5);

// Two browsers (two people) and a live stream each: more room than the default on a
// machine whose two cores also run the suite.
test.describe.configure({ timeout: 240_000 });

test.beforeAll(() => {
  if (!process.env.WUYE_CONSOLE_URL) throw new Error("WUYE_CONSOLE_URL is not set: the scenarios run from ctest (console_test)");
});

/** A major complaint taken by the page's signed-in agent, as the desk's form sends it. */
async function majorComplaint(page: Page, summary: string): Promise<string> {
  return page.evaluate(async (s) => {
    const token = sessionStorage.getItem("wuye.console.token");
    const headers = { "Content-Type": "application/json", Authorization: `Bearer ${token}` };
    const estates = await fetch("/wuye.directory.v1.DirectoryService/ListEstates", { method: "POST", headers, body: "{}" });
    const estate = ((await estates.json()) as { estates: { id: string; name: string }[] }).estates.find((e) =>
      e.name.includes("阳光花园"),
    );
    const r = await fetch("/wuye.intake.v1.IntakeService/CreateTicket", {
      method: "POST",
      headers,
      body: JSON.stringify({
        requestId: `duty-spec-${crypto.randomUUID()}`,
        ticket: {
          estateId: estate!.id,
          location: { commonArea: "地下车库B2" },
          channel: "CHANNEL_HOTLINE",
          kind: "TICKET_KIND_COMPLAINT",
          summary: s,
          description: "车库照明连续三天未修复，业主强烈不满。",
          major: true,
        },
      }),
    });
    if (!r.ok) throw new Error(`CreateTicket: HTTP ${r.status} ${await r.text()}`);
    return ((await r.json()) as { id: string }).id;
  }, summary);
}

/** Her inbox, on duty: checked in as supervisor if she was not. */
async function openInboxOnDuty(page: Page) {
  await page.getByTestId("nav-duty").click();
  await expect(page).toHaveURL(/\/duty$/);
  await page.getByRole("tab", { name: "值班登记" }).click();
  const state = page.getByTestId("my-duty-state");
  await expect(state).toBeVisible();
  if ((await state.getAttribute("data-on")) === "0") {
    await page.getByTestId("check-in").click();
    await expect(state).toHaveAttribute("data-on", "1");
  }
  await expect(page.getByTestId("on-duty").getByTestId("on-duty-name").filter({ hasText: "钱丽" }).first()).toBeVisible();
  await page.getByRole("tab", { name: "任务" }).click();
  await expect(page.getByTestId("stream-status")).toHaveAttribute("data-state", "live");
}

test("a task reaches the open inbox live, is taken, and the stream comes back after a drop without a row twice; the day's log is kept", async ({ page, browser }, info) => {
  await signInAs(page, "钱丽");
  await openInboxOnDuty(page);
  const status = page.getByTestId("stream-status");
  const inbox = page.getByTestId("inbox");

  // Elsewhere: the agent at the desk, in her own browser.
  const desk = await browser.newContext();
  const agent = await desk.newPage();
  await signInAs(agent, "李娜");
  const ticketId = await majorComplaint(agent, `车库照明 ${run}`);

  // It reaches the open inbox without a reload: once, waiting for her, new.
  const row = inbox.locator(`[data-testid="task"][data-subject="ticket/${ticketId}"]`);
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute("data-state", "OPEN");
  await expect(row).toContainText("重大投诉");
  await expect(row).toContainText("新");
  await expect(row.getByTestId("ref-open")).toHaveAttribute("href", `/desk/tickets/${ticketId}`);
  await screenshot(page, info, "duty");

  // She takes it; the stream's own change agrees.
  await row.getByTestId("task-ack").click();
  await expect(row).toHaveAttribute("data-state", "ACKNOWLEDGED");
  await expect(row.getByTestId("task-ack")).toHaveCount(0);
  await expect(row).toContainText("钱丽 已接手");

  // The network goes: the screen says so; meanwhile another complaint is made.
  const connections = Number(await status.getAttribute("data-connections"));
  await page.context().setOffline(true);
  await expect(status).toHaveAttribute("data-state", "reconnecting");
  await expect(status).toContainText("网络已断开");
  const secondId = await majorComplaint(agent, `车库照明二 ${run}`);
  // Back online, the gateway is restarting: its first two answers end the stream at once
  // with `unavailable` (docs/api/http.md, "A stream"), and the screen waits, counting down,
  // before each next try (the backoff).
  let refused = 0;
  await page.route("**/wuye.duty.v1.DutyService/WatchTasks", async (route) => {
    if (refused >= 2) return route.continue();
    refused++;
    const end = Buffer.from(JSON.stringify({ error: { code: "unavailable", message: "the gateway is shutting down" } }));
    const head = Buffer.alloc(5);
    head.writeUInt8(2, 0);
    head.writeUInt32BE(end.length, 1);
    await route.fulfill({ status: 200, contentType: "application/connect+json", body: Buffer.concat([head, end]) });
  });
  await page.context().setOffline(false);
  await expect(status).toContainText("秒后重新连接");
  // It comes back by itself, with a new connection; the first burst sends the open tasks
  // again: each row once, the taken one still taken, the one made meanwhile there too.
  // (Each refused answer's headers came first: its connection counts, then ends.)
  await expect
    .poll(async () => `${await status.getAttribute("data-state")} +${Number(await status.getAttribute("data-connections")) - connections}`)
    .toBe("live +3");
  expect(refused).toBe(2);
  await page.unroute("**/wuye.duty.v1.DutyService/WatchTasks");
  const second = inbox.locator(`[data-testid="task"][data-subject="ticket/${secondId}"]`);
  await expect(second).toHaveCount(1);
  await expect(second).toContainText("新");
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute("data-state", "ACKNOWLEDGED");
  const ids = await inbox.getByTestId("task").evaluateAll((els) => els.map((e) => e.getAttribute("data-task-id")));
  expect(new Set(ids).size).toBe(ids.length);

  // On a phone: the same inbox, one column.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(second).toBeVisible();
  await screenshot(page, info, "duty-phone");
  await page.setViewportSize({ width: 1366, height: 768 });
  await second.getByTestId("task-ack").click();
  await expect(second).toHaveAttribute("data-state", "ACKNOWLEDGED");

  // Widened to the estate (she is a supervisor): the same complaint's task for the estate
  // manager too (one task each), on a new stream; back to hers.
  await page.getByTestId("inbox-view").getByText("本管理处全部").click();
  await expect(inbox.locator(`[data-testid="task"][data-subject="ticket/${ticketId}"]`)).toHaveCount(2);
  await expect(status).toHaveAttribute("data-state", "live");
  await page.getByTestId("inbox-view").getByText("只看我的").click();
  await expect(row).toHaveCount(1);
  await expect(inbox.locator(`[data-testid="task"][data-subject="ticket/${ticketId}"]`)).toHaveCount(1);

  // Her day's log (000_… 二.2 上班日志): her own words, kept.
  await page.getByRole("tab", { name: "工作日志" }).click();
  const words = `处理车库照明重大投诉 ${run}`;
  await field(page, "log-notes").fill(words);
  await page.getByTestId("log-save").click();
  await expect(page.getByTestId("log-notice")).toContainText("日志已保存");
  await expect(page.getByTestId("log-panel")).not.toContainText("尚未填写");

  // Leaving the page ends the call.
  const ended = page.waitForEvent("requestfailed", (r) => r.url().endsWith("/wuye.duty.v1.DutyService/WatchTasks"));
  await page.getByTestId("nav-desk").click();
  await expect(page).toHaveURL(/\/desk$/);
  await ended;
  await desk.close();
});

test("a handover drafted and recorded by the outgoing person is acknowledged by the next", async ({ page, browser }) => {
  await signInAs(page, "钱丽");
  await openInboxOnDuty(page);
  await page.getByRole("tab", { name: "交接班" }).click();
  await page.getByTestId("handover-draft").click();
  const form = page.getByTestId("handover-form");
  await expect(form).toBeVisible();
  // What she holds (ids only): the tasks she took, when the scenario above ran first.
  await expect(form.getByTestId("handover-refs").or(form.getByText("没有未完事项"))).toBeVisible();
  await field(page, "handover-incoming").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "周晓红" }).first().click();
  const notes = `车库照明投诉已接手，待维修班明早回复 ${run}`;
  await field(page, "handover-notes").fill(notes);
  await page.getByTestId("handover-create").click();
  const made = page.getByTestId("handover-notice");
  await expect(made).toContainText("交接已提交");
  const id = await made.getAttribute("data-handover-id");
  expect(id).toBeTruthy();
  await expect(page.getByTestId(`handover-open-${id}`)).toBeVisible();
  // The inbox is still live behind the other tab, and leaving by signing out ends it.
  const ended = page.waitForEvent("requestfailed", (r) => r.url().endsWith("/wuye.duty.v1.DutyService/WatchTasks"));
  await signOut(page);
  await ended;

  // The next person: the estate manager, in her own browser.
  const next = await browser.newContext();
  const manager = await next.newPage();
  await signInAs(manager, "周晓红");
  await manager.goto("/duty?tab=handover");
  await manager.getByTestId(`handover-open-${id}`).click();
  const detail = manager.getByTestId("handover-detail");
  await expect(detail.getByTestId("handover-detail-notes")).toHaveText(notes);
  await manager.getByTestId("handover-ack").click();
  await expect(detail.getByTestId("handover-detail-state")).toContainText("已确认");
  await next.close();
});
