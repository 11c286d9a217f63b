import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { ADMIN_ENV, assertFits, browserTest, loggedIn } from "../helpers/browser.ts";

browserTest(
  "browser: a logged-in admin runs «Try it out» on a POST in /docs and it succeeds (CSRF sent)",
  async (browser) => {
    const t = await startTestHub({ env: ADMIN_ENV });
    try {
      const { context, page } = await loggedIn(browser, t.url);
      try {
        await page.goto(`${t.url}/docs`);
        assert.equal(await page.getAttribute('[data-testid="docs-back"]', "href"), "/admin");
        assert.equal(await page.getAttribute('[data-testid="docs-auth"]', "data-session"), "yes");
        assert.match(await page.textContent('[data-testid="docs-auth"]') ?? "", /owner@example\.com/);
        const icon = await page.getAttribute('link[rel="icon"]', "href");
        assert.equal((await page.request.get(`${t.url}${icon}`)).status(), 200);

        // POST /api/v1/tokens: a cookie-authenticated write, refused without the session's CSRF token.
        const op = page.locator('.opblock-post:has(.opblock-summary-path[data-path="/api/v1/tokens"])');
        await op.locator(".opblock-summary").click();
        await op.locator(".try-out__btn").click();
        await op.locator("textarea.body-param__text").fill(JSON.stringify({ name: "Из документации", role: "viewer" }));
        await op.locator("button.execute").click();
        const status = op.locator(".live-responses-table tbody .response-col_status").first();
        await status.waitFor({ timeout: 10_000 });
        assert.equal(
          (await status.textContent())?.trim(),
          "201",
          await op.locator(".live-responses-table").textContent() ?? "",
        );
        const tokens = await (await t.api("/api/v1/tokens")).json();
        assert.ok(tokens.items.some((x: { name: string }) => x.name === "Из документации"));
      } finally {
        await context.close();
      }

      // Without a session the page says how to authorize, and carries no CSRF token.
      const anonymous = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 } });
      try {
        const page = await anonymous.newPage();
        await page.goto(`${t.url}/docs`);
        assert.equal(await page.getAttribute('[data-testid="docs-auth"]', "data-session"), "no");
        assert.match(await page.textContent('[data-testid="docs-auth"]') ?? "", /Authorize.*API-токен/);
        assert.equal(await page.locator('meta[name="csrf-token"]').count(), 0);
        await assertFits(page, "/docs at 390 px");
      } finally {
        await anonymous.close();
      }
    } finally {
      await t.close();
    }
  },
);
