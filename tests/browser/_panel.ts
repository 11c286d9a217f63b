/** Shared steps of the panel's browser tests: log in, and measure sideways overflow. */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";

export const ADMIN = { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" };

/** A Russian-speaking browser of `width` × 844, logged in as the owner, on `path`. */
export async function loggedIn(browser: Browser, base: string, path: string, width: number): Promise<Page> {
  const page = await browser.newPage({ locale: "ru-RU", viewport: { width, height: 844 } });
  await page.goto(`${base}/admin/login`);
  await page.fill('input[name="email"]', ADMIN.SHLYUZ_ADMIN_EMAIL);
  await page.fill('input[name="password"]', ADMIN.SHLYUZ_ADMIN_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${base}/admin`);
  if (path !== "/admin") await page.goto(base + path);
  return page;
}

/** Fails when the page scrolls sideways or a button or link sticks out of the viewport. */
export async function assertNoSidewaysOverflow(page: Page, what: string): Promise<void> {
  const { scroll, width, out } = await page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const out = [...document.querySelectorAll("button, a[role=button], select, input")]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && (r.right > vw + 1 || r.left < -1);
      })
      .map((el) => el.outerHTML.slice(0, 120));
    return { scroll: document.documentElement.scrollWidth, width: vw, out };
  });
  assert.ok(scroll <= width, `${what}: the page scrolls sideways (${scroll} > ${width} px)`);
  assert.deepEqual(out, [], `${what}: controls outside the viewport`);
}
