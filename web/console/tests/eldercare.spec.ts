// 居家养老 in a real browser against the real suite (issue #24, page 6). Seed 004_… 5.14:
// "老人的所有資料,親人聯系電話、本人的健康卡檔案,均屬保密資料". The demo enrols one elder at
// 阳光花园 (tools/demo_day/eldercare.cc) and has no nurse or clinic, so its card is empty; the
// cleaner is the demo's 吴秀梅 (tools/demo_data/staff.textproto, sunny-cleaner).
import { expect, test, type Page } from "@playwright/test";
import { field, screenshot, signInAs, signOut } from "./desk";
import { HEALTH_RPCS } from "../src/eldercare/rules";

const run = Date.now().toString(36).slice(-5);
// The RPCs that carry health values or contacts: GetHealthCard, GetCheckup, GetFamilyContacts.
const HEALTH = new RegExp(`/wuye\\.eldercare\\.v1\\.ElderCareService/(${HEALTH_RPCS.join("|")})$`);
// What the card's labels and values look like on the page (zh-CN and en).
const HEALTH_TEXT = /血型|家族病史|近期疾病史|药物过敏|食物禁忌|Blood type|Drug allergies|Family history/;

test.beforeAll(() => {
  if (!process.env.WUYE_CONSOLE_URL) throw new Error("WUYE_CONSOLE_URL is not set: the scenarios run from ctest (console_test)");
});

/** Every health RPC the page asks, and every address the tab shows, from now on. */
function watch(page: Page) {
  const asked: string[] = [];
  const addresses: string[] = [];
  page.on("request", (r) => {
    if (HEALTH.test(new URL(r.url()).pathname)) asked.push(r.url());
  });
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) addresses.push(f.url());
  });
  return { asked, addresses };
}

async function storage(page: Page) {
  return page.evaluate(() => ({
    session: Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k) ?? ""]),
    local: Object.keys(localStorage).map((k) => [k, localStorage.getItem(k) ?? ""]),
  }));
}

test("a cleaner opening the elderly-care page sees no health data, and no health card is asked for", async ({ page }) => {
  const seen = watch(page);
  await signInAs(page, "吴秀梅");
  // Her work is the estate's cleaning: the page is not hers (eldercare's role table lists her
  // nowhere), so it is not in her navigation ...
  await expect(page.getByTestId("side-nav")).toBeVisible();
  await expect(page.getByTestId("nav-eldercare")).toHaveCount(0);
  // ... and its address takes her back to her own pages.
  await page.goto("/eldercare");
  await expect(page).not.toHaveURL(/\/eldercare/);
  await expect(page.getByTestId("person")).toContainText("吴秀梅");
  await expect(page.getByTestId("open-card")).toHaveCount(0);
  await expect(page.getByTestId("health-card")).toHaveCount(0);
  await expect(page.locator("body")).not.toContainText(HEALTH_TEXT);
  expect(seen.asked).toEqual([]);
  // The service refuses her anyway: a crafted call with her own token.
  const refused = await page.evaluate(async () => {
    const token = sessionStorage.getItem("wuye.console.token");
    const r = await fetch("/wuye.eldercare.v1.ElderCareService/GetHealthCard", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ elderId: "00000000-0000-7000-8000-000000000000", purpose: "x" }),
    });
    return ((await r.json()) as { code?: string }).code;
  });
  expect(refused).toBe("permission_denied");
  const kept = await storage(page);
  expect(kept.session.map(([k]) => k)).toEqual(["wuye.console.token"]);
  expect(kept.local).toEqual([]);
});

test("a care worker states a purpose and reads the card; the read is in the trail; nothing of it stays in the URL or storage", async ({ page }, info) => {
  const seen = watch(page);
  await signInAs(page, "徐丽华");
  await page.getByTestId("nav-eldercare").click();
  await expect(page).toHaveURL(/\/eldercare$/);
  const rows = page.getByTestId("elders").locator("tbody tr");
  await expect(rows.first()).toBeVisible();
  await expect(rows.first().getByTestId("elder-unit")).not.toHaveText("…");
  // The list carries no health value; nothing is asked before a purpose is stated.
  await expect(page.getByTestId("elders")).not.toContainText(HEALTH_TEXT);
  await rows.first().getByTestId("open-card").click();
  const dialog = page.getByTestId("health-card-dialog");
  await expect(dialog).toBeVisible();
  await page.getByTestId("card-read").click();
  await expect(page.getByTestId("card-error")).toContainText("调阅目的");
  expect(seen.asked).toEqual([]);
  // The purpose: "其他" in her own words (unique per run, to find it in the trail).
  const purpose = `核对用药后上门 ${run}`;
  await page.getByTestId("card-purpose").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "其他" }).click();
  await field(page, "card-note").fill(purpose);
  await page.getByTestId("card-read").click();
  await expect(page.getByTestId("card-view")).toHaveText("完整健康卡");
  const card = page.getByTestId("health-card");
  for (const label of ["血型", "家族病史", "近期疾病史", "药物过敏史", "食物禁忌"]) await expect(card).toContainText(label);
  expect(seen.asked).toHaveLength(1);
  await screenshot(page, info, "eldercare");
  // The URL never carries it: the page's address stayed the page's, with no query or fragment.
  expect(seen.addresses.every((a) => !new URL(a).search && !new URL(a).hash)).toBe(true);
  expect(new URL(page.url()).pathname).toBe("/eldercare");
  // Closing drops it.
  await page.getByTestId("card-close").click();
  await expect(page.getByTestId("health-card")).toHaveCount(0);
  // Open it again and leave the page with it open: the dialog goes with the page.
  await rows.first().getByTestId("open-card").click();
  await page.getByTestId("card-purpose").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "上门探访" }).click();
  await page.getByTestId("card-read").click();
  await expect(page.getByTestId("health-card")).toBeVisible();
  await page.goBack();
  await expect(page).not.toHaveURL(/\/eldercare/);
  await expect(page.getByTestId("health-card")).toHaveCount(0);
  await expect(page.locator("body")).not.toContainText(HEALTH_TEXT);
  // Nothing of it in the browser's storage: the session's token alone.
  const kept = await storage(page);
  expect(kept.session.map(([k]) => k)).toEqual(["wuye.console.token"]);
  expect(kept.local).toEqual([]);
  await signOut(page);

  // The estate manager reads the trail: her read, with her purpose. She sees no card but by
  // break-glass (the role table), and no read of the trail asks for the card.
  await signInAs(page, "周晓红");
  await page.goto("/eldercare");
  await rows.first().getByTestId("open-audit").click();
  const trail = page.getByTestId("audit-trail");
  const entry = trail.locator("tr", { hasText: purpose });
  await expect(entry).toHaveCount(1);
  await expect(entry).toContainText("徐丽华");
  await expect(entry).toContainText("调阅健康卡");
  await expect(trail.locator("tr", { hasText: "上门探访" }).first()).toBeVisible();
  await screenshot(page, info, "eldercare-audit");
  expect(seen.asked).toHaveLength(2);
});

test("the front desk reads the emergency part only, after a purpose; the estate manager only by break-glass", async ({ page }) => {
  const seen = watch(page);
  await signInAs(page, "李娜");
  await page.getByTestId("nav-eldercare").click();
  const row = page.getByTestId("elders").locator("tbody tr").first();
  await expect(row.getByTestId("open-card")).toHaveText("急救信息");
  // The read trail is not hers.
  await expect(row.getByTestId("open-audit")).toHaveCount(0);
  await row.getByTestId("open-card").click();
  await page.getByTestId("card-purpose").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "急救送医" }).click();
  await page.getByTestId("card-read").click();
  await expect(page.getByTestId("card-view")).toContainText("急救信息");
  const card = page.getByTestId("health-card");
  await expect(card).toContainText("血型");
  await expect(card).toContainText("药物过敏史");
  await expect(card).not.toContainText(/家族病史|近期疾病史|食物禁忌/);
  await page.getByTestId("card-close").click();
  expect(seen.asked).toHaveLength(1);
  await signOut(page);

  await signInAs(page, "周晓红");
  await page.goto("/eldercare");
  const open = page.getByTestId("elders").locator("tbody tr").first().getByTestId("open-card");
  await expect(open).toHaveText("紧急调阅");
  await open.click();
  // No purpose read for her: only break-glass, with a reason, flagged.
  await expect(page.getByTestId("card-purpose")).toHaveCount(0);
  await expect(page.getByTestId("card-break-glass").locator("input")).toBeChecked();
  await page.getByTestId("card-read").click();
  await expect(page.getByTestId("card-error")).toContainText("紧急理由");
  expect(seen.asked).toHaveLength(1);
});
