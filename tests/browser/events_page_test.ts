import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { ADMIN, ADMIN_ENV, browserTest } from "../helpers/browser.ts";

browserTest("browser: log in, open Events, see an event published after the page loaded", async (browser) => {
  const t = await startTestHub({ env: ADMIN_ENV });
  try {
    const page = await browser.newPage({ locale: "ru-RU", viewport: { width: 390, height: 844 } }); // a phone-width screen
    // A filtered link opened without a session: the login brings it back with its filter.
    await page.goto(`${t.url}/admin/events?types=custom.*`);
    assert.match(page.url(), /\/admin\/login\?next=%2Fadmin%2Fevents%3Ftypes%3Dcustom\.\*$/);
    await page.fill('input[name="email"]', ADMIN.email);
    await page.fill('input[name="password"]', "wrong password!");
    await page.click('button[type="submit"]');
    assert.match(await page.textContent('[data-testid="login-error"]') ?? "", /Неверная почта или пароль/);
    await page.fill('input[name="password"]', ADMIN.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${t.url}/admin/events?types=custom.*`);
    await page.waitForSelector('[data-testid="stream-state"][data-state="live"]', { timeout: 10_000 });
    const event = (await t.hub.events.publish(t.org, "custom.browser", { greeting: "привет" }))!;
    const row = page.locator(`[data-event-id="${event.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.textContent() ?? "", /custom\.browser.*привет/);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 400, `no horizontal scrolling on a phone (${width}px)`);
  } finally {
    await t.close();
  }
});
