import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { ADMIN_ENV, assertFits, browserTest, loggedIn } from "../helpers/browser.ts";
import { startDadataFake } from "../fakes/dadata.ts";

browserTest(
  "browser: the Enrichment page's counters and rows move with a task done after it loaded, without a reload",
  async (browser) => {
    const dadata = await startDadataFake();
    const t = await startTestHub({
      env: {
        ...ADMIN_ENV,
        DADATA_BASE_URL: dadata.url,
        DADATA_API_KEY: "test-dadata-key",
        DADATA_SECRET_KEY: "test-dadata-secret",
      },
    });
    try {
      const { context, page } = await loggedIn(browser, t.url, { path: "/admin/enrichment", width: 390, height: 844 });
      try {
        // Every EventSource the page creates, counted from a fresh load (its own reconnects are not new ones).
        await page.addInitScript(() => {
          const Original = globalThis.EventSource;
          const counted = globalThis as unknown as { __eventSources: number };
          counted.__eventSources = 0;
          globalThis.EventSource = class extends Original {
            constructor(url: string | URL, init?: EventSourceInit) {
              super(url, init);
              counted.__eventSources++;
            }
          };
        });
        await page.reload();
        const phone = page.locator('[data-testid="enrichment-stats"] article[data-type="phone"]');
        assert.equal(await phone.getAttribute("data-done"), "0");
        assert.equal(await page.locator('[data-testid="rows"] tbody tr').count(), 0);
        await page.waitForSelector('[data-testid="live-state"][data-state="live"]', { timeout: 10_000 });
        await page.evaluate(() => (globalThis as unknown as { __same: number }).__same = 1);

        const res = await t.api("/api/v1/tasks", {
          method: "POST",
          json: { task_id: 7, task_type: "phone", data: "раб 846)231.60.14 *139" },
        });
        const { id } = await res.json();
        assert.equal(res.status, 200);

        // The live table, the counter and the rows table all show it.
        await page.locator('[data-testid="live-results"] tbody tr', { hasText: "7" }).first().waitFor({
          timeout: 10_000,
        });
        await page.waitForSelector('[data-testid="enrichment-stats"] article[data-type="phone"][data-done="1"]', {
          timeout: 10_000,
        });
        assert.match(await phone.textContent() ?? "", /1 выполнено/);
        const row = page.locator(`[data-testid="rows"] tr[data-row-id="${id}"]`);
        await row.waitFor({ timeout: 10_000 });
        assert.match(await row.textContent() ?? "", /7.*телефон.*846/s);
        assert.equal(await page.evaluate(() => (globalThis as unknown as { __same?: number }).__same), 1, "no reload");
        const streams = await page.evaluate(() => (globalThis as unknown as { __eventSources: number }).__eventSources);
        assert.equal(streams, 1, "one event stream for the three live widgets");
        await assertFits(page, "enrichment at 390 px after a task");
      } finally {
        await context.close();
      }
    } finally {
      await t.close();
      await dadata.close();
    }
  },
);
