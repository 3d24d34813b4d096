// 回访 in a real browser against the real suite (issue #24, page 3): an unsatisfied
// callback recorded on the callbacks page reopens the ticket (DOMAIN.md §2; intake's
// RecordCallback), and the month's coverage shows intake's own quota (004_… 5.5.2).
import { expect, test, type Page } from "@playwright/test";
import { choose, field, rowsInTab, screenshot, signInAs, signOut } from "./desk";

const run = Date.now().toString(36).slice(-5);

test.beforeAll(() => {
  if (!process.env.WUYE_CONSOLE_URL) throw new Error("WUYE_CONSOLE_URL is not set: the scenarios run from ctest (console_test)");
});

/** The estate's coverage for this month as intake answers it, with the page's own session. */
async function coverageOf(page: Page, estateName: string) {
  return page.evaluate(async (name) => {
    const token = sessionStorage.getItem("wuye.console.token");
    const call = async (method: string, body: unknown) => {
      const r = await fetch(`/wuye.${method}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      return r.json();
    };
    const { estates } = await call("directory.v1.DirectoryService/ListEstates", { pageSize: 1000 });
    const estate = estates.find((e: { name: string }) => e.name === name);
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: estate.timeZone || "Asia/Shanghai", year: "numeric", month: "2-digit" }).formatToParts(new Date());
    const month = { year: Number(parts.find((p) => p.type === "year")!.value), month: Number(parts.find((p) => p.type === "month")!.value) };
    return call("intake.v1.IntakeService/GetCallbackCoverage", { estateId: estate.id, month });
  }, estateName);
}

test("an unsatisfied callback recorded on the callbacks page reopens the ticket", async ({ page }, info) => {
  // A complaint taken at the desk and resolved by its owner: every complaint is called back
  // (004_… 5.5.2; intake decides it at resolution), so it waits for a callback.
  await signInAs(page, "李娜");
  await page.getByTestId("new-request").click();
  await choose(page, "field-channel", "来访");
  await choose(page, "field-kind", "投诉");
  const summary = `楼上漏水影响天花 ${run}`;
  await field(page, "field-summary").fill(summary);
  await page.getByTestId("submit").click();
  await expect(page).toHaveURL(/\/desk$/);
  await expect.poll(() => rowsInTab(page, "待处理", summary)).toBe(1);
  await page.getByTestId("queue").filter({ visible: true }).getByText(summary).click();
  await expect(page.getByTestId("ticket-summary")).toHaveText(summary);
  const ticketUrl = page.url();
  // A complaint's written reply has its deadline on the working calendar, with its reason
  // (issue 27 §1), and the handling result given is that reply, on time.
  await expect(page.getByTestId("reply-due")).not.toBeEmpty();
  await expect(page.getByTestId("reply-due-reason")).toContainText("到期");
  await expect(page.getByTestId("reply-waiting")).toBeVisible();
  await page.getByTestId("action-resolve").click();
  await field(page, "dialog-text").fill("已协调楼上住户维修防水层");
  await page.getByTestId("dialog-confirm").click();
  await expect(page.getByTestId("ticket-state")).toHaveText("待回访");
  await expect(page.getByTestId("reply-on-time")).toHaveText("按时");

  // The agent's callbacks page: the due list with the call, but no coverage (intake gives
  // GetCallbackCoverage to supervisors, managers, quality and the group only).
  await page.getByTestId("nav-callbacks").click();
  await expect(page).toHaveURL(/\/callbacks$/);
  const agentRow = page.getByTestId("callback-due").locator("tr", { hasText: summary });
  await expect(agentRow).toHaveCount(1);
  await expect(agentRow.getByTestId("action-callback")).toBeVisible();
  await expect(page.getByTestId("coverage")).toHaveCount(0);
  await signOut(page);

  // The supervisor: the due list with why each is called back, and the month's coverage.
  await signInAs(page, "钱丽");
  await page.getByTestId("nav-callbacks").click();
  const row = page.getByTestId("callback-due").locator("tr", { hasText: summary });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("due-reason")).toHaveText("投诉必回访");
  await expect(row).toContainText("必须回访");
  // Late rows (due since an earlier month) come first, then mandatory ones before the sample.
  const lateFlags = await page.getByTestId("callback-due").locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => tr.querySelector('[data-testid="due-late"]') !== null),
  );
  expect(lateFlags).toEqual([...lateFlags].sort((a, b) => Number(b) - Number(a)));
  // The quota and the callbacks it requires are intake's, shown as it answers them.
  const estate = "阳光花园 Sunny Gardens";
  const cov = await coverageOf(page, estate);
  const covRow = page.getByTestId("coverage").locator("tr", { hasText: estate });
  await expect(covRow.getByTestId("coverage-served")).toHaveText(String(cov.householdsServed ?? 0));
  await expect(covRow.getByTestId("coverage-required")).toHaveText(String(cov.callbacksRequired ?? 0));
  await expect(covRow.getByTestId("coverage-quota")).toHaveText(cov.householdsServed ? `${cov.quotaPercent} %` : "—");
  // The complaint, resolved this month and not called yet, is a mandatory callback missing.
  await expect(page.getByTestId("missing-mandatory").getByTestId("missing-summary").filter({ hasText: summary })).toHaveCount(1);
  await screenshot(page, info, "callbacks");

  // The unsatisfied callback, with the ticket page's own dialog: the ticket leaves the list …
  await row.getByTestId("action-callback").click();
  await choose(page, "dialog-satisfaction", "不满意");
  await field(page, "dialog-text").fill("住户反映天花仍有水渍");
  await page.getByTestId("dialog-confirm").click();
  await expect(page.getByTestId("callback-due").locator("tr", { hasText: summary })).toHaveCount(0);
  await expect(page.getByTestId("missing-mandatory").getByTestId("missing-summary").filter({ hasText: summary })).toHaveCount(0);
  // … and is reopened: on its page, and back in the desk's waiting queue.
  await page.goto(ticketUrl);
  await expect(page.getByTestId("ticket-state")).toHaveText("重新打开");
  await expect(page.getByTestId("ticket-history")).toContainText("待回访 → 重新打开");
  await page.getByTestId("nav-desk").click();
  await expect.poll(() => rowsInTab(page, "待处理", summary)).toBe(1);
});
