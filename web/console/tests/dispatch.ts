// What the dispatch scenarios do as the people do it (the board, a finger on a phone's
// screen), and the little they ask the services directly with the page's own session: reading
// an order, and the household's service agreement the scenario needs as a fact.
import { expect, type Locator, type Page } from "@playwright/test";

/** A call through the gateway with the page's session (reads and test set-up only; the app uses its Connect clients). */
export async function rpc<T>(page: Page, method: string, body: object): Promise<T> {
  return page.evaluate(
    async ([m, b]) => {
      const token = sessionStorage.getItem("wuye.console.token");
      const r = await fetch(`/${m}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(b),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${m}: ${r.status} ${text}`);
      return JSON.parse(text);
    },
    [method, body] as const,
  ) as Promise<T>;
}

/** The board's card of the order whose title is `title`, once dispatch has made it (read again until then). */
export async function boardCard(page: Page, title: string): Promise<Locator> {
  const card = page.getByTestId("order-card").filter({ hasText: title });
  await expect
    .poll(
      async () => {
        await page.getByTestId("board-refresh").click();
        await expect(page.getByTestId("board").locator(".el-loading-mask")).toHaveCount(0);
        return card.count();
      },
      { timeout: 60_000, intervals: [1000, 2000, 3000] },
    )
    .toBe(1);
  return card;
}

/** Today's date in the estate's calendar (Asia/Shanghai, the demo's estates). */
export function estateToday(zone = "Asia/Shanghai"): { year: number; month: number; day: number } {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date());
  const n = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: n("year"), month: n("month"), day: n("day") };
}

/**
 * A stroke drawn with a finger: real touch input through Chromium's input pipeline (CDP
 * Input.dispatchTouchEvent), so the page sees pointer events of type "touch", as on a phone.
 * Points are relative to the element's top-left corner.
 */
export async function touchStroke(page: Page, target: Locator, points: [number, number][]) {
  const box = (await target.boundingBox())!;
  const cdp = await page.context().newCDPSession(page);
  const at = ([x, y]: [number, number]) => [{ x: box.x + x, y: box.y + y, radiusX: 4, radiusY: 4, force: 1, id: 1 }];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: at(points[0]) });
  for (const p of points.slice(1)) await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: at(p) });
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

/** A stroke drawn with the mouse (a stylus or a desk PC's signature). */
export async function mouseStroke(page: Page, target: Locator, points: [number, number][]) {
  const box = (await target.boundingBox())!;
  await page.mouse.move(box.x + points[0][0], box.y + points[0][1]);
  await page.mouse.down();
  for (const [x, y] of points.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 3 });
  await page.mouse.up();
}

/** Points along a little wave from (x0, y) over `width` pixels: a hand-written-looking line. */
export function wave(x0: number, y: number, width: number, height = 18, n = 24): [number, number][] {
  return Array.from({ length: n }, (_, i) => [x0 + (width * i) / (n - 1), y + Math.sin((i / (n - 1)) * Math.PI * 3) * height] as [number, number]);
}
