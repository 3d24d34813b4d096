// Signing in with the group's OpenID Connect provider, in a real browser against the real
// suite (issue #24; docs/console.md, "Sign-in"). The provider is tests/oidc-issuer.mjs, which
// console_test starts, registering the console as a public client, and whose ES256 public
// key the services take: WUYE_OIDC_ISSUER is its URL. Without it (the shared suite of
// HELPERS-console.md, which has no provider) every scenario here is skipped.
import { expect, test, type Page } from "@playwright/test";
import { screenshot } from "./desk";

const issuer = process.env.WUYE_OIDC_ISSUER ?? "";
// A demo agent (tools/demo_data), and the person the provider lists without group or roles.
const AGENT = "李娜";
const NO_CLAIMS = process.env.WUYE_OIDC_NO_CLAIMS ?? "无集团无岗位";

test.skip(!issuer, "WUYE_OIDC_ISSUER is not set: no OpenID Connect provider in this suite (console_test starts one)");

const storage = (page: Page) =>
  page.evaluate(() => ({ session: Object.keys(sessionStorage), local: Object.keys(localStorage) }));

/** From the sign-in page to the provider's login page; the pending sign-in is in this tab. */
async function toProvider(page: Page, shot?: () => Promise<void>) {
  await page.goto("/sign-in");
  await expect(page.getByTestId("oidc-sign-in")).toBeEnabled();
  if (shot) await shot();
  await page.getByTestId("oidc-sign-in").click();
  await expect(page).toHaveURL((u) => u.href.startsWith(`${issuer}/authorize?`));
  const u = new URL(page.url());
  expect(u.searchParams.get("code_challenge_method")).toBe("S256");
  expect(u.searchParams.get("response_type")).toBe("code");
  expect(u.searchParams.get("redirect_uri")).toMatch(/\/sign-in\/callback$/);
}

/** The console's refusal after the redirect back: its reason, and nothing stored. */
async function refused(page: Page, reason: string) {
  const error = page.getByTestId("oidc-error");
  await expect(error).toBeVisible();
  await expect(error).toHaveAttribute("data-reason", reason);
  // The code and state have left the address bar; the pending sign-in is gone; no token.
  expect(new URL(page.url()).search).toBe("");
  expect(await storage(page)).toEqual({ session: [], local: [] });
  await page.getByTestId("oidc-back").click();
  await expect(page).toHaveURL(/\/sign-in$/);
}

test("an agent signs in at the group's provider, works with its token, and signs out there", async ({ page }, info) => {
  await toProvider(page, () => screenshot(page, info, "sign-in-oidc"));
  await page.locator(`button[data-name="${AGENT}"]`).click();

  await expect(page).toHaveURL(/\/desk$/);
  // Her name comes from the directory, asked with the provider's token: accepted.
  await expect(page.getByTestId("person")).toContainText(AGENT);
  await expect(page.getByTestId("nav-desk")).toBeVisible();
  await expect(page.getByTestId("nav-manager")).toHaveCount(0);
  const queue = page.getByTestId("queue").filter({ visible: true });
  await expect(queue).toBeVisible();
  await expect(queue.locator(".el-loading-mask")).toHaveCount(0);

  // Only the access token is kept: the verifier, state and nonce are gone, no refresh token.
  expect(await storage(page)).toEqual({ session: ["wuye.console.token"], local: [] });
  const token = await page.evaluate(() => sessionStorage.getItem("wuye.console.token") ?? "");
  const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString()) as { alg: string };
  expect(header.alg).toBe("ES256");
  // A real call with it, straight through the gateway: intake accepts the issuer's token.
  const status = await page.evaluate(async (t) => {
    const r = await fetch("/wuye.intake.v1.IntakeService/ListTickets", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${t}` },
      body: JSON.stringify({ state: "TICKET_STATE_RECEIVED", pageSize: 5 }),
    });
    return r.status;
  }, token);
  expect(status).toBe(200);

  // A reload keeps her signed in (the session is read back from the token's claims).
  await page.reload();
  await expect(page.getByTestId("person")).toContainText(AGENT);

  // Sign-out forgets everything and ends the provider's session, which sends her back.
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/sign-in$/);
  expect(await storage(page)).toEqual({ session: [], local: [] });
});

test("a redirect back whose state is not this sign-in's is refused", async ({ page }) => {
  await toProvider(page);
  // As if an attacker's code and state came back to this tab: the provider answers with
  // the state it is given.
  await page.locator('input[name="state"]').evaluate((e) => ((e as HTMLInputElement).value += "-forged"));
  await page.locator(`button[data-name="${AGENT}"]`).click();
  await refused(page, "state");
});

test("a sign-in refused at the provider is shown as refused", async ({ page }) => {
  await toProvider(page);
  await page.locator("#deny").click();
  await refused(page, "denied");
});

test("a code the token endpoint refuses (a wrong verifier) signs no one in", async ({ page }) => {
  await page.route(`${issuer}/token`, async (route) => {
    const body = new URLSearchParams(route.request().postData() ?? "");
    body.set("code_verifier", "x".repeat(43));
    await route.continue({ postData: body.toString() });
  });
  await toProvider(page);
  await page.locator(`button[data-name="${AGENT}"]`).click();
  await refused(page, "token");
});

test("a token without a group or roles is refused, naming what is missing", async ({ page }) => {
  await toProvider(page);
  await page.locator(`button[data-name="${NO_CLAIMS}"]`).click();
  await refused(page, "claims");
});

test("a redirect back that no sign-in of this tab started is refused", async ({ page }) => {
  await page.goto("/sign-in/callback?code=stolen&state=guessed");
  await refused(page, "noPending");
});
