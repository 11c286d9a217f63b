import assert from "node:assert/strict";
import { eventually, startTestHub } from "../helpers/hub.ts";
import { failingTarget, finishedRun, SEED_ENV } from "../executions/_seed.ts";
import { ADMIN_ENV, assertFits, assertRussian, browserTest, loggedIn, VIEWPORTS } from "../helpers/browser.ts";

browserTest(
  "browser: the Scheduler pages read in Russian and fit 1280 and 390 px; the form says the cron in words",
  async (browser) => {
    const t = await startTestHub({ env: ADMIN_ENV });
    try {
      const created = await t.api("/api/v1/schedules", {
        method: "POST",
        json: {
          name: "Ночная выгрузка заказов в бухгалтерию",
          cron: "0 9 * * 1-5",
          timezone: "Asia/Vladivostok",
          action: { type: "http", url: "https://example.com/a/very/long/path/that/must/wrap/on/a/phone?x=1" },
        },
      });
      const schedule = await created.json();
      const run = await (await t.api(`/api/v1/schedules/${schedule.id}/run`, { method: "POST", json: {} })).json();
      await eventually(async () => {
        const r = await (await t.api(`/api/v1/runs/${run.id}`)).json();
        return r.outcome !== "queued" && r.outcome !== "running";
      });
      for (const vp of VIEWPORTS) {
        const { context, page } = await loggedIn(browser, t.url, vp);
        try {
          for (
            const [path, heading] of [
              ["/admin/scheduler", "Планировщик"],
              [`/admin/scheduler/${schedule.id}`, "Ночная выгрузка заказов в бухгалтерию"],
              [`/admin/scheduler/runs/${run.id}`, "Запуск «Ночная выгрузка заказов в бухгалтерию»"],
            ]
          ) {
            await page.goto(`${t.url}${path}`);
            const where = `${path} at ${vp.width}px`;
            assert.equal((await page.textContent("main h1"))?.trim(), heading, where);
            await assertRussian(page, where);
            await assertFits(page, where);
          }
          await page.goto(`${t.url}/admin/scheduler`);
          const row = page.locator(`[data-schedule-id="${schedule.id}"]`);
          assert.match(await row.textContent() ?? "", /по будням в 09:00/);
          assert.match(
            await row.textContent() ?? "",
            /Asia\/Vladivostok/,
            "another zone than the organization's is named",
          );

          // The new-schedule form: words and the next five runs before saving.
          await page.locator("summary", { hasText: "Новое расписание" }).click();
          const form = page.locator('[data-testid="new-schedule"][data-ready]');
          await form.locator('input[name="cron"]').fill("*/15 * * * *");
          await form.locator('[data-testid="cron-words"]', { hasText: "каждые 15 минут" }).waitFor();
          assert.equal(await form.locator(".next-runs li").count(), 5);
          await form.locator('input[name="cron"]').fill("0 25 * * *");
          await form.locator('[data-testid="cron-preview"] .error').waitFor();
          await form.locator('input[name="cron"]').fill("30 3 1,15 * *");
          await form.locator('input[name="timezone"]').fill("Europe/Kaliningrad");
          await form.locator('[data-testid="cron-words"]', { hasText: "1-го и 15-го числа в 03:30" }).waitFor();
          await form.locator('[data-testid="cron-preview"]', { hasText: "Europe/Kaliningrad" }).waitFor();
          assert.ok(
            await form.locator("#scheduler-zones option").count() > 300,
            "the zone picker lists the IANA zones",
          );
          await assertFits(page, `the open form at ${vp.width}px`);
        } finally {
          await context.close();
        }
      }
    } finally {
      await t.close();
    }
  },
);

browserTest(
  "browser: a schedule's own page shows a run that finished after it loaded, without a reload",
  async (browser) => {
    const target = failingTarget();
    const t = await startTestHub({ env: { ...ADMIN_ENV, ...SEED_ENV } });
    try {
      await (await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } })).body
        ?.cancel();
      const schedule = await (await t.api("/api/v1/schedules", {
        method: "POST",
        json: { name: "Выгрузка остатков", cron: "0 3 * * *", action: { type: "http", url: target.url } },
      })).json();
      const other = await (await t.api("/api/v1/schedules", {
        method: "POST",
        json: { name: "Другое", cron: "0 4 * * *", action: { type: "http", url: target.url } },
      })).json();
      const { context, page } = await loggedIn(browser, t.url, {
        path: `/admin/scheduler/${schedule.id}`,
        width: 390,
        height: 844,
      });
      try {
        await page.waitForFunction(() => document.querySelector("[data-island=schedule_runs]") !== null);
        assert.equal(await page.locator('[data-testid="history-table"] tbody tr').count(), 0);
        await page.waitForSelector('[data-testid="stream-state"][data-state="live"]', { timeout: 10_000 });
        await page.evaluate(() => (globalThis as unknown as { __same: number }).__same = 1);
        const mine = await (await t.api(`/api/v1/schedules/${schedule.id}/run`, { method: "POST", json: {} })).json();
        const theirs = await (await t.api(`/api/v1/schedules/${other.id}/run`, { method: "POST", json: {} })).json();
        await finishedRun(t, mine.id);
        await finishedRun(t, theirs.id);
        const row = page.locator(`[data-testid="history-table"] tr[data-run-id="${mine.id}"]`);
        await row.waitFor({ timeout: 10_000 });
        assert.match(await row.textContent() ?? "", /вручную.*ошибка.*500/s);
        assert.equal(await page.locator(`tr[data-run-id="${theirs.id}"]`).count(), 0, "another schedule's run");
        assert.equal(await page.evaluate(() => (globalThis as unknown as { __same?: number }).__same), 1, "no reload");
        await assertFits(page, "schedule page at 390 px after a run");
      } finally {
        await context.close();
      }
    } finally {
      await t.close();
      await target.close();
    }
  },
);
