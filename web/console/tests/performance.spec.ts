// 绩效 in a real browser against the real suite (issue #24, page 5): a person's own monthly
// form with its evidence, an appeal, the estate manager's decision (docs/api/performance.md:
// DecideAppeal of a form line — estate_manager, group_admin), and no way to another's form.
import { expect, test, type Page } from "@playwright/test";
import { field, screenshot, signInAs, signOut } from "./desk";

const run = Date.now().toString(36).slice(-5);

test.beforeAll(() => {
  if (!process.env.WUYE_CONSOLE_URL) throw new Error("WUYE_CONSOLE_URL is not set: the scenarios run from ctest (console_test)");
});

/** One RPC through the gateway with the page's own session (as the page's token allows). */
async function rpc(page: Page, method: string, body: object): Promise<{ code?: string } & Record<string, unknown>> {
  return page.evaluate(
    async ([m, b]) => {
      const token = sessionStorage.getItem("wuye.console.token");
      const r = await fetch(`/wuye.performance.v1.PerformanceService/${m}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(b),
      });
      return (await r.json()) as { code?: string } & Record<string, unknown>;
    },
    [method, body] as const,
  );
}

/** The demo staff member's id, from the local sign-in list. */
async function staffId(page: Page, name: string): Promise<string> {
  const r = await page.request.get("/local/people");
  const body = (await r.json()) as { groups: { people: { id: string; name: string }[] }[] };
  const p = body.groups.flatMap((g) => g.people).find((x) => x.name === name);
  if (!p) throw new Error(`no demo staff member ${name}`);
  return p.id;
}

test("a person sees their own form with its evidence and appeals; the estate manager upholds it; another's form is out of reach", async ({
  page,
}, info) => {
  const lina = await staffId(page, "李娜");
  const wangfang = await staffId(page, "王芳");
  const note = `晨会未佩戴工牌 ${run}`;
  // The evidence: the team lead finds her without a badge (000_… 二.3, a MANUAL item, −1 on
  // her form by default). Entered through the service, as the inspection would be.
  await signInAs(page, "孙婷");
  const entry = await rpc(page, "CreateManualEntry", { requestId: `e2e-perf-${run}`, staffId: lina, rule: "dress_code", note, occurredAt: new Date().toISOString() });
  expect(entry.code, JSON.stringify(entry)).toBeUndefined();
  await signOut(page);

  await signInAs(page, "李娜");
  await page.getByTestId("nav-performance").click();
  await expect(page).toHaveURL(/\/performance$/);
  // Her own form only: no team, ledger or appeals tab (not a manager).
  await expect(page.getByRole("tab")).toHaveCount(1);
  await expect(page.getByRole("tab", { name: "我的考核表" })).toBeVisible();
  const line = page.getByTestId("sheet-lines").locator("tr", { hasText: note });
  await expect(line).toHaveCount(1);
  await expect(line.getByTestId("line-item")).toHaveText("着装、工牌或吸烟违规");
  await expect(line).toContainText("−1");
  await expect(line).toContainText("孙婷");
  await expect(line.getByTestId("line-status")).toHaveText("计分");
  // She appeals it, with her reason; the reason is required.
  await line.getByTestId("line-appeal").click();
  await page.getByTestId("perf-submit").click();
  await expect(page.getByTestId("perf-error")).toContainText("申诉理由");
  const reason = `当天工牌在前台补办，有登记 ${run}`;
  await field(page, "perf-reason").fill(reason);
  await page.getByTestId("perf-submit").click();
  await expect(page.getByTestId("perf-dialog")).toHaveCount(0);
  await expect(line.getByTestId("line-status")).toHaveText("申诉中");
  await expect(line.getByTestId("line-appeal")).toHaveCount(0);
  const appeal = page.getByTestId("sheet-appeals").locator("tr", { hasText: reason });
  await expect(appeal.getByTestId("appeal-state")).toHaveText("待裁决");
  // She cannot decide her own appeal.
  await expect(appeal.getByTestId("appeal-decide")).toHaveCount(0);
  await expect(page.locator(".el-message")).toHaveCount(0);
  await screenshot(page, info, "performance");
  // Another's form: no way on the page, and the service refuses a crafted call with her token.
  const [year, month] = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
    .format(new Date())
    .split("-")
    .map(Number);
  const other = await rpc(page, "GetSheet", { staffId: wangfang, period: { year, month } });
  expect(other.code).toBe("permission_denied");
  const team = await rpc(page, "GetTeamSheet", { estateId: "any", period: { year, month } });
  expect(team.code).toBe("permission_denied");
  await signOut(page);

  // The estate manager decides it (DecideAppeal of a form line: estate_manager, group_admin).
  await signInAs(page, "周晓红");
  await page.getByTestId("nav-performance").click();
  await page.getByRole("tab", { name: "申诉" }).click();
  const row = page.getByTestId("team-appeals").locator("tr", { hasText: reason });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("李娜");
  await expect(row.getByTestId("team-appeal-state")).toHaveText("待裁决");
  await row.getByTestId("team-appeal-decide").click();
  await page.getByTestId("perf-submit").click();
  await expect(page.getByTestId("perf-error")).toContainText("请选择裁决结果");
  await page.getByTestId("perf-uphold").click();
  await field(page, "perf-reason").fill(`前台补办登记属实 ${run}`);
  await page.getByTestId("perf-submit").click();
  await expect(page.getByTestId("perf-dialog")).toHaveCount(0);
  await expect(row.getByTestId("team-appeal-state")).toHaveText("申诉成立");
  await expect(row).toContainText("周晓红");
  // Her form as the manager opens it: the line voided, the decision beside it.
  await page.getByRole("tab", { name: "团队考核" }).click();
  // The tab reads the rankings again (her score moved): click her row once they are in.
  await expect(page.getByTestId("rankings").locator(".el-loading-mask")).toHaveCount(0);
  await page.getByTestId("rankings").locator("tr", { hasText: "李娜" }).getByTestId("ranking-open").click();
  const drawer = page.getByRole("dialog", { name: /^李娜 · / });
  const drawerLine = drawer.getByTestId("sheet-lines").locator("tr", { hasText: note });
  await expect(drawerLine.getByTestId("line-status")).toHaveText("已撤销");
  await expect(drawer.getByTestId("sheet-appeals").locator("tr", { hasText: reason })).toContainText("前台补办登记属实");
  await page.keyboard.press("Escape");
  // The office's ledger: the line's evidence stays (the office's score is the committee's).
  await page.getByRole("tab", { name: "服务质量台账" }).click();
  await expect(page.getByTestId("ledger-lines").locator("tr", { hasText: note })).toContainText("−10");
  await screenshot(page, info, "performance-ledger");
  await signOut(page);

  // Back to her: the decision on her own form.
  await signInAs(page, "李娜");
  await page.goto("/performance");
  await expect(page.getByTestId("sheet-lines").locator("tr", { hasText: note }).getByTestId("line-status")).toHaveText("已撤销");
  await expect(page.getByTestId("sheet-appeals").locator("tr", { hasText: reason }).getByTestId("appeal-state")).toHaveText("申诉成立");
});
