// What the scenarios do the way a person at the desk does it: sign in from the list, fill
// the form with the keyboard, read the queue. Screenshots go to docs/console/ when
// WUYE_CONSOLE_SCREENSHOTS=1 (docs/console.md), else beside the test's results.
import { expect, type Locator, type Page, type TestInfo } from "@playwright/test";
import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";

const docs = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "docs", "console");

export async function screenshot(page: Page, info: TestInfo, name: string) {
  await page.evaluate(() => document.fonts.ready);
  const path = process.env.WUYE_CONSOLE_SCREENSHOTS === "1" ? join(docs, `${name}.png`) : info.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: false, animations: "disabled", caret: "hide" });
}

/** Signs in from the local sign-in list as the demo staff member named `name`. */
export async function signInAs(page: Page, name: string) {
  await page.goto("/sign-in");
  const person = page.getByTestId("local-sign-in").locator(`button[data-name="${name}"]`);
  await person.click();
  await expect(page.getByTestId("person")).toContainText(name);
}

/** Signs out; nothing of the session is left in the browser's storage. */
export async function signOut(page: Page) {
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/sign-in$/);
  expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
}

/** The text field of an Element Plus input, select or autocomplete carrying `testId`. */
export function field(page: Page, testId: string): Locator {
  return page.locator(`[data-testid="${testId}"] input, input[data-testid="${testId}"], textarea[data-testid="${testId}"]`).first();
}

/** Chooses in a filterable select by typing, then Enter (the first match), as at the desk. */
export async function choose(page: Page, testId: string, typed: string) {
  const input = field(page, testId);
  await input.click();
  await input.pressSequentially(typed);
  // The list filtered to what was typed before Enter takes its first line.
  await expect(page.locator(".el-select-dropdown__item:visible").first()).toContainText(typed);
  await input.press("Enter");
  await expect(page.getByTestId(testId)).toContainText(typed);
}

/** Finds a unit by typing its building and number, and takes the first suggestion. */
export async function chooseUnit(page: Page, typed: string, label: string) {
  const input = field(page, "field-unit");
  await input.click();
  await input.pressSequentially(typed);
  const hit = page.locator(".el-autocomplete-suggestion li:visible", { hasText: label }).first();
  await expect(hit).toBeVisible();
  await hit.click();
  await expect(input).toHaveValue(label);
}

/** The queue's rows with this summary in the visible tab, after a refresh. */
export async function rowsInTab(page: Page, tab: string, summary: string): Promise<number> {
  await page.getByRole("tab", { name: tab }).click();
  await page.getByRole("button", { name: "刷新" }).click();
  const table = page.getByTestId("queue").filter({ visible: true });
  await expect(table.locator(".el-loading-mask")).toHaveCount(0);
  return table.getByTestId("queue-summary").filter({ hasText: summary }).count();
}

/** Tickets with this summary, asked of intake through the gateway with the page's own session. */
export async function ticketsWithSummary(page: Page, summary: string): Promise<number> {
  return page.evaluate(async (s) => {
    const token = sessionStorage.getItem("wuye.console.token");
    let count = 0;
    for (const state of ["TICKET_STATE_RECEIVED", "TICKET_STATE_DISPATCHED", "TICKET_STATE_IN_PROGRESS"]) {
      const r = await fetch("/wuye.intake.v1.IntakeService/ListTickets", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ state, pageSize: 1000 }),
      });
      const body = (await r.json()) as { tickets?: { summary: string }[] };
      count += (body.tickets ?? []).filter((t) => t.summary === s).length;
    }
    return count;
  }, summary);
}
