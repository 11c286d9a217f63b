/**
 * Browser tests of the admin pages: headless Debian Chromium driven by
 * playwright-core, a logged-in Russian-speaking page, and "does it fit the
 * screen" / "is it Russian" checks. Every browser test starts here.
 */
import assert from "node:assert/strict";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { serviceOrSkip } from "./services.ts";

export const CHROMIUM = Deno.env.get("SHLYUZ_CHROMIUM") ?? "/usr/bin/chromium";

/** Launches Chromium, or returns null (skip) when it is not installed and not required. */
export async function launchBrowser(): Promise<Browser | null> {
  const present = await serviceOrSkip("Chromium", () => Deno.stat(CHROMIUM));
  if (!present) return null;
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/**
 * A Deno test with a Chromium of its own, closed afterwards; skipped (see
 * serviceOrSkip) when Chromium is absent. Sanitizers are off: playwright keeps
 * internal timers and pipes between steps.
 */
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const browser = await launchBrowser();
      if (!browser) return;
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}

export const ADMIN = { email: "owner@example.com", password: "correct horse battery" };
/** Env for startTestHub that creates the owner above. */
export const ADMIN_ENV = { SHLYUZ_ADMIN_EMAIL: ADMIN.email, SHLYUZ_ADMIN_PASSWORD: ADMIN.password };

export const VIEWPORTS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

/**
 * A browser context in `locale` (ru-RU) at `width`, logged in as `who` (the
 * owner) through the login form, on `path` (the overview): the page asks for
 * `path`, the login form brings it back there. `pageErrors`, when given,
 * collects the page's uncaught errors from its first navigation on (so an
 * island that throws while hydrating right after the login is not missed).
 */
export async function loggedIn(
  browser: Browser,
  base: string,
  { width = 1280, height = 800, who = ADMIN, path = "/admin", locale = "ru-RU", pageErrors }: {
    width?: number;
    height?: number;
    who?: typeof ADMIN;
    path?: string;
    locale?: string;
    pageErrors?: string[];
  } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale, viewport: { width, height } });
  const page = await context.newPage();
  if (pageErrors) page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(`${base}${path}`);
  await page.fill('input[name="email"]', who.email);
  await page.fill('input[name="password"]', who.password);
  await Promise.all([page.waitForURL(`${base}${path}`), page.click('button[type="submit"]')]);
  return { context, page };
}

/** How far the page is wider than the viewport (0 = no horizontal scroll). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return await page.evaluate(() =>
    Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth)
  );
}

/**
 * Nothing on the page scrolls sideways: the document is no wider than the
 * viewport, and every action (button, link-button, select, input) ends inside it.
 */
export async function assertFits(page: Page, where: string): Promise<void> {
  const report = await page.evaluate(() => {
    const doc = document.documentElement;
    const width = doc.clientWidth;
    const outside: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>("button, [role=button], select, input, textarea, a")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // hidden (closed <details>, display:none)
      // Inside a box that scrolls by itself the element is reachable without scrolling the page sideways.
      if (r.right > width + 1 || r.left < -1) {
        outside.push(
          `${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute("name") || "").trim().slice(0, 40)}" ${
            Math.round(r.left)
          }–${Math.round(r.right)}`,
        );
      }
    }
    return { scrollWidth: doc.scrollWidth, width, outside };
  });
  assert.ok(
    report.scrollWidth <= report.width,
    `${where}: the page scrolls sideways (${report.scrollWidth} > ${report.width})`,
  );
  assert.deepEqual(report.outside, [], `${where}: actions outside the screen`);
}

/** English words that must not appear on a Russian page (the frame, forms and tables). */
const ENGLISH =
  /\b(Filter|Save|Create|Delete|Remove|Revoke|Name|Role|Time|Failed|Reason|Attempts|Details|Settings|Events|Members|Action|Target|Send|Live|connecting|enabled|disabled|Refresh|Submit|Edit|Run now|Next run|Outcome|Duration|Trigger|Planned|Cache|Rows|Dead letters|No \w+ yet)\b/;

/** The page's language is Russian and its visible text has none of the English panel words. */
export async function assertRussian(page: Page, where: string): Promise<void> {
  assert.equal(await page.getAttribute("html", "lang"), "ru", `${where}: lang`);
  const text = await page.evaluate(() => document.body.innerText);
  const found = text.match(ENGLISH);
  assert.equal(
    found?.[0],
    undefined,
    `${where}: English text "${found?.[0]}" in: …${
      text.slice(Math.max(0, (found?.index ?? 0) - 60), (found?.index ?? 0) + 60)
    }…`,
  );
}
