// The console's browser scenarios (tests/*.spec.ts), run by ctest's console_test against
// the real suite behind wuye-gateway (WUYE_CONSOLE_URL), in Debian's headless chromium
// (WUYE_CHROMIUM, default /usr/bin/chromium): Playwright never downloads a browser here.
// Two projects: "rules", the pages' pure rules without a browser (tests/*rules.spec.ts, ctest
// console_rules), and "browser", the scenarios, which need the suite (WUYE_CONSOLE_URL).
import { defineConfig } from "@playwright/test";

const baseURL = process.env.WUYE_CONSOLE_URL;

export default defineConfig({
  testDir: "tests",
  // One browser at a time: the machine's two cores also run the suite.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  projects: [
    { name: "rules", testMatch: /rules\.spec\.ts$/ },
    { name: "browser", testMatch: /\.spec\.ts$/, testIgnore: /rules\.spec\.ts$/ },
  ],
  use: {
    baseURL,
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    viewport: { width: 1366, height: 768 },
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.WUYE_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
  },
});
