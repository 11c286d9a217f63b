import assert from "node:assert/strict";
import { finishedRun, withSeededHub } from "../executions/_seed.ts";
import { ADMIN_ENV, assertFits, assertRussian, browserTest, loggedIn } from "../helpers/browser.ts";

browserTest(
  "browser: the journal filters, searches, expands, re-drives and grows live, at 1280 and 390 px",
  (browser) =>
    withSeededHub(async (t, s) => {
      for (const width of [1280, 390]) {
        const page = (await loggedIn(browser, t.url, { path: "/admin/executions", width, height: 844 })).page;
        assert.equal(await page.textContent("h1"), "Журнал выполнений");
        assert.equal(await page.getAttribute('nav a[aria-current="page"]', "href"), "/admin/executions");
        assert.equal(await page.locator(".exec-row").count(), 4);
        await assertFits(page, `journal at ${width} px`);
        await assertRussian(page, `journal at ${width} px`);

        // Search by the 1C id: the form puts it in the URL.
        await page.fill('input[name="q"]', "ЗК-000042");
        await page.click('form[role="search"] button[type="submit"]');
        await page.waitForURL(/[?&]q=%D0%97%D0%9A-000042/);
        assert.deepEqual(
          await page.locator(".exec-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-ref"))),
          [
            `onec:${s.onecLogId}`,
          ],
        );
        assert.match(await page.textContent(".exec-row") ?? "", /Запросы 1С.*ЗК-000042.*ошибка/s);

        // Filter by area: a select, also in the URL; the row expands to labelled lines.
        await page.goto(`${t.url}/admin/executions`);
        await page.selectOption('select[name="area"]', "scheduler");
        await page.click('form[role="search"] button[type="submit"]');
        await page.waitForURL(/[?&]area=scheduler/);
        const run = page.locator(`.exec-row[data-ref="run:${s.runId}"]`);
        assert.equal(await page.locator(".exec-row").count(), 1);
        await run.locator("summary").click();
        const details = await run.locator(".exec-fields").textContent() ?? "";
        assert.match(details, /HTTP-статус ответа\s*500/);
        assert.match(details, /Ответ\s*upstream is down/);
        await assertFits(page, `expanded row at ${width} px`);
        await page.context().close();
      }

      // Re-drive a dead letter from its row: the answer is shown in the row.
      const page =
        (await loggedIn(browser, t.url, { path: "/admin/executions?area=dead", width: 390, height: 844 })).page;
      await page.waitForSelector('[data-testid="stream-state"]:has-text("в реальном времени")', { timeout: 10_000 });
      const dead = page.locator(`.exec-row[data-ref="dead:${s.deadId}"]`);
      await dead.locator('[data-testid="retry"]').click();
      await dead.locator('[data-testid="retry-note"]:has-text("снова в очереди")').waitFor({ timeout: 10_000 });
      assert.match(await page.textContent('[data-testid="bulk-report"]') ?? "", /Повторено: 1, не удалось: 0/);
      assert.equal(await t.hub.queue.dead.get(t.org, s.deadId), null);
      await page.context().close();

      // Bulk retry by filter, and a row that appears live.
      const failed = (await loggedIn(browser, t.url, {
        path: "/admin/executions?area=scheduler&outcome=failed",
        width: 1280,
        height: 844,
      })).page;
      await failed.waitForSelector('[data-testid="stream-state"]:has-text("в реальном времени")', { timeout: 10_000 });
      failed.on("dialog", (d) => d.accept());
      await failed.click('[data-testid="bulk-retry"]');
      await failed.waitForSelector('[data-testid="bulk-report"]:has-text("Повторено: 1, не удалось: 0")', {
        timeout: 10_000,
      });
      // The bulk retry ran the schedule again; its failed run shows up without a reload.
      await failed.waitForFunction(() => document.querySelectorAll(".exec-row").length === 2, null, {
        timeout: 10_000,
      });
      const again = await (await t.api(`/api/v1/schedules/${s.scheduleId}/run`, { method: "POST" })).json();
      await finishedRun(t, again.id);
      await failed.locator(`.exec-row[data-ref="run:${again.id}"]`).waitFor({ timeout: 10_000 });
      await failed.context().close();
    }, { env: ADMIN_ENV }),
);
