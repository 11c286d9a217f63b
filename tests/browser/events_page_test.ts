import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { launchBrowser } from "../helpers/browser.ts";

Deno.test({
  name: "browser: log in, open Events, see an event published after the page loaded",
  // playwright keeps internal timers and pipes between steps; the browser is closed in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const browser = await launchBrowser();
    if (!browser) return;
    const t = await startTestHub({
      env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" },
    });
    try {
      const page = await browser.newPage({ locale: "ru-RU", viewport: { width: 390, height: 844 } }); // a phone-width screen
      await page.goto(`${t.url}/admin/events`);
      assert.match(page.url(), /\/admin\/login\?next=%2Fadmin%2Fevents$/);
      await page.fill('input[name="email"]', "owner@example.com");
      await page.fill('input[name="password"]', "wrong password!");
      await page.click('button[type="submit"]');
      assert.match(await page.textContent('[data-testid="login-error"]') ?? "", /Неверная почта или пароль/);
      await page.fill('input[name="password"]', "correct horse battery");
      await page.click('button[type="submit"]');
      await page.waitForURL(`${t.url}/admin/events`);
      await page.waitForSelector('[data-testid="stream-state"][data-state="live"]', { timeout: 10_000 });
      const event = (await t.hub.events.publish(t.org, "custom.browser", { greeting: "привет" }))!;
      const row = page.locator(`[data-event-id="${event.id}"]`);
      await row.waitFor({ timeout: 10_000 });
      assert.match(await row.textContent() ?? "", /custom\.browser.*привет/);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 400, `no horizontal scrolling on a phone (${width}px)`);
    } finally {
      await browser.close();
      await t.close();
    }
  },
});
