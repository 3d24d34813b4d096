// 收费 in a real browser against the real suite (issue #24, page 4): a finance clerk records a
// payment whose first answer is lost and sends it again, and double-clicks another: each
// counts once, in the unit's account and in the month's collection, on the page and in
// billing's own answers (RecordPayment once per request_id, docs/api/billing.md "Payments").
import { expect, test, type Page } from "@playwright/test";
import { field, screenshot, signInAs, signOut } from "./desk";

const run = Date.now().toString(36).slice(-5);

test.beforeAll(() => {
  if (!process.env.WUYE_CONSOLE_URL) throw new Error("WUYE_CONSOLE_URL is not set: the scenarios run from ctest (console_test)");
});

/** "¥6,158.34" → 615834 fen. */
const fenOf = (text: string) => {
  const m = /(-?)([\d,]+)\.(\d\d)/.exec(text);
  if (!m) throw new Error(`no amount in ${text}`);
  return (m[1] ? -1 : 1) * (Number(m[2].replace(/,/g, "")) * 100 + Number(m[3]));
};

/** Asked of billing through the gateway with the page's own session: the unit's account, and the month's collection. */
async function billingSays(page: Page, unitId: string, month: string) {
  return page.evaluate(async ([unit, month]) => {
    const token = sessionStorage.getItem("wuye.console.token");
    const call = async (method: string, body: unknown) => {
      const r = await fetch(`/wuye.billing.v1.BillingService/${method}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      if (!r.ok) throw new Error(`${method}: ${r.status} ${await r.text()}`);
      return r.json();
    };
    const account = await call("GetUnitAccount", { unitId: unit });
    const period = { year: Number(month.slice(0, 4)), month: Number(month.slice(5, 7)) };
    // A report is a new intent each time: its own request_id.
    const report = await call("ReportCollection", { requestId: `test-${crypto.randomUUID()}`, estateId: account.estateId, period });
    return { owed: Number(account.owedFen ?? 0), collected: Number(report.collectedFen ?? 0) };
  }, [unitId, month]);
}

test("a finance clerk records a payment twice and it counts once; a double click makes one payment", async ({ page }, info) => {
  await signInAs(page, "潘红");
  // Her first page is billing: arrears by age and the collection against the 95 % target.
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByTestId("arrears")).toBeVisible();
  await expect(page.getByTestId("collection")).toContainText("目标 95.00 %");
  const estate = page.getByTestId("estate-switch");
  await expect(estate).toContainText("阳光花园");

  // A unit with arrears, from the list of units in arrears.
  const first = page.getByTestId("arrears-units").getByTestId("arrears-unit").first();
  await expect(first).not.toHaveText("…");
  const label = (await first.textContent())!.trim();
  await first.click();
  await expect(page.getByTestId("account-unit")).toHaveText(label);
  // The same unit found as the desk finds one: typing its building and number.
  const finder = field(page, "billing-unit");
  await finder.fill("");
  await finder.pressSequentially(label);
  await page.locator(".el-autocomplete-suggestion li:visible", { hasText: label }).first().click();
  await expect(page.getByTestId("account-unit")).toHaveText(label);
  await expect(page.getByTestId("account-owed")).not.toHaveText("¥0.00");

  // The unit's id, for billing's own answers: the request the page made for its account.
  const accountCall = page.waitForRequest("**/wuye.billing.v1.BillingService/GetUnitAccount");
  await page.getByTestId("billing-refresh").click();
  const id = JSON.parse((await accountCall).postData() ?? "{}").unitId as string;
  expect(id).toBeTruthy();
  await expect(page.getByTestId("unit-account").locator(".el-loading-mask")).toHaveCount(0);

  // 1.23 yuan by WeChat Pay for its monthly bill (the demo's month: yesterday's); the first
  // answer is lost on the way back.
  await field(page, "payment-amount").fill("1.23");
  await page.getByTestId("payment-method").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "微信支付" }).click();
  await field(page, "payment-txn").fill(`WX${run}A`);
  await page.getByTestId("payment-bill").click();
  const monthly = page.locator(".el-select-dropdown__item:visible", { hasText: "月度账单" }).first();
  const month = (await monthly.textContent())!.trim().slice(0, 7);
  expect(month).toMatch(/^\d{4}-\d{2}$/);
  await monthly.click();
  // The collection of that month, on the page and from billing.
  await page.getByTestId("collection-month").click();
  await page.locator(".el-select-dropdown__item:visible").filter({ hasText: new RegExp(`^\\s*${month}\\s*$`) }).click();
  await expect(page.getByTestId("collection-month")).toContainText(month);
  await expect(page.getByTestId("billing-figures").locator(".el-loading-mask")).toHaveCount(0);
  const before = await billingSays(page, id, month);
  expect(fenOf((await page.getByTestId("account-owed").textContent())!)).toBe(before.owed);
  let calls = 0;
  await page.route("**/wuye.billing.v1.BillingService/RecordPayment", async (route) => {
    calls++;
    if (calls === 1) {
      await route.fetch();
      await route.abort("connectionreset");
    } else {
      await route.continue();
    }
  });
  await page.getByTestId("payment-submit").click();
  await expect(page.getByTestId("payment-notice")).toContainText("再次提交不会重复收款");
  await page.getByTestId("payment-submit").click();
  await expect(page.getByTestId("payment-notice")).toContainText("已收款 ¥1.23");
  expect(calls).toBe(2);
  // Once: billing's account and collection moved by 1.23, and the page shows the same.
  await expect.poll(async () => (await billingSays(page, id, month)).owed).toBe(before.owed - 123);
  const once = await billingSays(page, id, month);
  expect(once.collected).toBe(before.collected + 123);
  await expect(page.getByTestId("account-owed")).toHaveText(`¥${(once.owed / 100).toLocaleString("en", { minimumFractionDigits: 2 })}`);
  await expect(page.getByTestId("collection-collected")).toHaveText(`¥${(once.collected / 100).toLocaleString("en", { minimumFractionDigits: 2 })}`);

  // A double click on the submit button: one payment of 0.45.
  await page.unroute("**/wuye.billing.v1.BillingService/RecordPayment");
  await field(page, "payment-amount").fill("0.45");
  await page.getByTestId("payment-method").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "现金" }).click();
  await field(page, "payment-txn").fill(`R${run}B`);
  await page.getByTestId("payment-submit").dblclick();
  await expect(page.getByTestId("payment-notice")).toContainText("已收款 ¥0.45");
  await expect.poll(async () => (await billingSays(page, id, month)).owed).toBe(before.owed - 168);
  expect((await billingSays(page, id, month)).collected).toBe(before.collected + 168);

  // A reminder (催缴) on the open bill, and its record.
  const bill = page.getByTestId("open-bills").locator("tbody tr.el-table__row").filter({ hasText: `${month}` }).first();
  await bill.getByTestId("remind").click();
  await field(page, "reminder-note").fill(`电话提醒本月管理费 ${run}`);
  await page.getByTestId("reminder-confirm").click();
  await expect(page.getByTestId("reminders").filter({ visible: true })).toContainText(`电话提醒本月管理费 ${run}`);
  await expect(page.locator(".el-message")).toHaveCount(0);
  await page.getByRole("heading", { name: "收费" }).scrollIntoViewIfNeeded();
  await screenshot(page, info, "billing");
  await signOut(page);

  // A supervisor reads arrears and accounts, but neither the collection report nor takes payments.
  await signInAs(page, "钱丽");
  await page.getByTestId("nav-billing").click();
  await expect(page.getByTestId("arrears")).toBeVisible();
  await expect(page.getByTestId("collection")).toHaveCount(0);
  await page.getByTestId("arrears-units").getByTestId("arrears-unit").first().click();
  await expect(page.getByTestId("account-owed")).toBeVisible();
  await expect(page.getByTestId("payment-form")).toHaveCount(0);
  await expect(page.getByTestId("remind")).toHaveCount(0);
});
