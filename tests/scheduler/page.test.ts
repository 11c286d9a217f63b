/** Browser test: the Scheduler page shows next run times with their zone and a run arriving live over SSE. */
import assert from "node:assert/strict";
import { launchBrowser } from "../helpers/browser.ts";
import { startTestHub } from "../helpers/hub.ts";
import { recordingServer } from "./_setup.ts";

Deno.test({
  name: "browser: the Scheduler page shows a run appear live after Run now",
  // playwright keeps internal timers and pipes between steps; the browser is closed in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const browser = await launchBrowser();
    if (!browser) return;
    const server = recordingServer(() => new Response("done"));
    const t = await startTestHub({
      env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" },
    });
    try {
      const allow = await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
      await allow.body?.cancel();
      const created = await t.api("/api/v1/schedules", {
        method: "POST",
        json: {
          name: "Nightly export",
          cron: "30 2 * * *",
          timezone: "Europe/Berlin",
          action: { type: "http", url: `${server.url}/export` },
        },
      });
      const schedule = await created.json();

      const page = await browser.newPage();
      await page.goto(`${t.url}/admin/scheduler`);
      await page.fill('input[name="email"]', "owner@example.com");
      await page.fill('input[name="password"]', "correct horse battery");
      await page.click('button[type="submit"]');
      await page.waitForURL(`${t.url}/admin/scheduler`);

      const scheduleRow = page.locator(`[data-schedule-id="${schedule.id}"]`);
      assert.match(
        await scheduleRow.locator('[data-testid="next-run"]').textContent() ?? "",
        /02:30:00 Europe\/Berlin \(GMT\+[12]\)/,
      );
      await page.waitForSelector('[data-testid="stream-state"]:has-text("live")', { timeout: 10_000 });
      assert.equal(await page.locator("tr[data-run-id]").count(), 0);

      // Run now from the page; the finished run arrives over SSE without a reload.
      await scheduleRow.locator("button", { hasText: "Run now" }).click();
      const run = page.locator('[data-testid="runs-table"] tr[data-run-id]');
      await run.waitFor({ timeout: 10_000 });
      assert.match(await run.textContent() ?? "", /Europe\/Berlin.*Nightly export.*manual.*ok.*200/s);
      assert.equal(server.calls.length, 1);
      assert.equal(server.calls[0].path, "/export");
    } finally {
      await browser.close();
      await t.close();
      await server.close();
    }
  },
});
