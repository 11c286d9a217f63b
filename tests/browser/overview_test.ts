import assert from "node:assert/strict";
import { finishedRun, withSeededHub } from "../executions/_seed.ts";
import { ADMIN_ENV, assertFits, assertRussian, browserTest, loggedIn } from "../helpers/browser.ts";

browserTest(
  "browser: the Overview shows health cards and charts in Russian at 1280 and 390 px, and a counter moves live",
  (browser) =>
    withSeededHub(async (t, s) => {
      for (const width of [1280, 390]) {
        const page = (await loggedIn(browser, t.url, { width, height: 844 })).page;
        assert.equal(await page.textContent("h1"), "Обзор");
        await page.waitForSelector('[data-testid="stream-state"]:has-text("в реальном времени")', { timeout: 10_000 });
        assert.match(await page.textContent('[data-testid="card-scheduler-total"]') ?? "", /^1 запуск за 24 ч$/);
        assert.match(await page.textContent('[data-testid="card-scheduler-failed"]') ?? "", /^1 ошибка$/);
        assert.equal(await page.textContent('[data-testid="card-scheduler-health"]'), "сбой");
        assert.match(await page.textContent('[data-testid="card-onec"]') ?? "", /1 запрос 1С с ошибкой/);
        assert.match(await page.textContent('[data-testid="card-dead"]') ?? "", /1 сообщение ждёт повторной доставки/);
        assert.equal(await page.textContent('[data-testid="kpi-overdue"]'), "0");
        // uPlot drew every chart (a canvas each), served by the hub itself.
        await page.waitForSelector('[data-testid="chart-scheduler_runs"] canvas', { timeout: 10_000 });
        assert.equal(await page.locator(".chart canvas").count(), 5);
        assert.match(await page.textContent('[data-testid="chart-dead_letters-totals"]') ?? "", /недоставленные: 1/);
        assert.equal(await page.getAttribute('[data-testid="check-token"]', "data-done"), "no");
        await assertFits(page, `overview at ${width} px`);
        await assertRussian(page, `overview at ${width} px`);
        await page.context().close();
      }

      // Live: a run finishing after the page loaded changes the counter without a reload.
      const page = (await loggedIn(browser, t.url, { width: 390, height: 844 })).page;
      await page.waitForSelector('[data-testid="stream-state"]:has-text("в реальном времени")', { timeout: 10_000 });
      const marker = await page.evaluate(() => (globalThis as unknown as { __same: number }).__same = 1);
      const again = await (await t.api(`/api/v1/schedules/${s.scheduleId}/run`, { method: "POST" })).json();
      await finishedRun(t, again.id);
      await page.waitForSelector('[data-testid="card-scheduler-total"]:has-text("2 запуска за 24 ч")', {
        timeout: 10_000,
      });
      assert.match(await page.textContent('[data-testid="card-scheduler-failed"]') ?? "", /^2 ошибки$/);
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { __same?: number }).__same),
        marker,
        "no reload",
      );
      await page.context().close();
    }, { env: ADMIN_ENV }),
);
