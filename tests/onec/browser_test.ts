/**
 * Browser test of the 1C → Bitrix24 page at phone width: an admin saves
 * settings through the page form (the API reads them back, the webhook stays
 * masked), a 1C request sent through the API shows up live in the intake log,
 * the load board and the events feed, and the cache refresh button reloads an
 * expired cache entry; nothing scrolls the page sideways.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { ADMIN_ENV, browserTest, horizontalOverflow, loggedIn } from "../helpers/browser.ts";
import { startTestHub } from "../helpers/hub.ts";
import { startBitrix24Fake } from "../fakes/bitrix24.ts";
import { sampleRequest } from "../../lib/onec/request_schema.ts";
import { TestClock } from "../helpers/onec.ts";

const DAY = 24 * 3600_000;

browserTest(
  "browser: the 1C page saves settings, shows a 1C request live and refreshes caches at 390px",
  async (browser) => {
    const clock = new TestClock();
    const fake = await startBitrix24Fake({ now: () => clock.now() });
    const t = await startTestHub({ env: { BITRIX_WEBHOOK: fake.webhookUrl, ...ADMIN_ENV }, clock });
    try {
      // The fake portal is on 127.0.0.1: the organization has to allow private networks.
      await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
      const pageErrors: string[] = [];
      const { page } = await loggedIn(browser, t.url, {
        path: "/admin/onec",
        width: 390,
        height: 844,
        locale: "en-US",
        pageErrors,
      });
      await page.locator('[data-testid="load-board"] article[data-section="Сварочный участок"]').waitFor();
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll at 390px");

      // Settings through the page form: a new webhook (sealed), the fallback and a cache lifetime.
      await page.locator("summary", { hasText: "Settings" }).click();
      await page.fill('input[name="webhookUrl"]', fake.webhookUrl);
      await page.selectOption('select[name="fallback"]', "user");
      await page.fill('input[name="fallbackUserId"]', "1");
      await page.fill('input[name="ttlUsers"]', "600");
      assert.equal(await horizontalOverflow(page), 0, "the open settings form fits at 390px");
      const reloaded = page.waitForEvent("load");
      await page.locator("button", { hasText: "Save" }).click();
      await reloaded;
      const settings = await (await t.api("/api/v1/onec/settings")).json();
      assert.equal(settings.fallback, "user");
      assert.equal(settings.fallbackUserId, 1);
      assert.equal(settings.ttlUsers, 600);
      assert.equal(settings.projectName, "Задачи из 1с");
      assert.equal(settings.webhookUrl, fake.webhookUrl.replace("testcode", "••••"));
      const stored = await t.hub.kv.get(["settings", t.org, "bitrix"]);
      assert.ok(!JSON.stringify(stored.value).includes("testcode"), "the webhook is stored sealed");
      assert.ok(!(await page.content()).includes("testcode"), "the page never shows the webhook code");
      assert.match(await page.locator("label", { hasText: "Inbound webhook URL" }).textContent() ?? "", /••••/);
      assert.equal(await page.locator('select[name="fallback"]').inputValue(), "user");

      // A 1C request while the page is open: the log, the board and the events feed update without a reload.
      await page.locator('[data-testid="load-board"][data-ready]').waitFor({ timeout: 10_000 });
      await page.locator('[data-island="onec_intake_log"] [data-ready]').waitFor({ timeout: 10_000 });
      await page.waitForSelector('[data-testid="stream-state"][data-state="live"]', { timeout: 10_000 });
      assert.equal(await page.locator('[data-testid="onec-log"] tbody tr').count(), 0);
      const welding = page.locator('[data-testid="load-board"] article[data-section="Сварочный участок"]');
      const before = await openTasks(page, "Сварочный участок");
      const operator = await t.tokenFor("operator");
      const res = await t.api("/", { method: "POST", json: sampleRequest, token: operator });
      assert.deepEqual(await res.json(), { message: "ok" });

      const logRow = page.locator(`[data-testid="onec-log"] tr[data-onec-id="${sampleRequest.tasks[0].id}"]`);
      await logRow.waitFor({ timeout: 10_000 });
      assert.match(await logRow.textContent() ?? "", /Сварить раму РМ-12.*Сварочный участок.*created/s);
      assert.equal(await page.locator('[data-testid="onec-log"] tbody tr').count(), 2);
      await page.locator('[data-testid="events-table"] tr', { hasText: "onec.task.created" }).first().waitFor();
      await page.waitForFunction(
        ([section, n]) => {
          const cells = document.querySelectorAll(
            `[data-testid="load-board"] article[data-section="${section}"] [data-testid="open-tasks"]`,
          );
          return [...cells].reduce((sum, c) => sum + Number(c.textContent), 0) === n;
        },
        ["Сварочный участок", before + 1] as const,
        { timeout: 10_000 },
      );
      assert.equal(await welding.count(), 1);
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll with rows in the log");

      // A day later the project cache has expired (the board reloads the rest itself); the button reloads it.
      clock.jump(DAY + 3600_000);
      await page.reload();
      const project = page.locator('[data-testid="onec-cache"] tr[data-key^="project:"]');
      assert.equal(await project.getAttribute("data-fresh"), "false");
      assert.match(await project.textContent() ?? "", /expired/);
      const afterRefresh = page.waitForEvent("load");
      await page.locator("button", { hasText: "Refresh caches now" }).click();
      await afterRefresh;
      assert.equal(await project.getAttribute("data-fresh"), "true");
      assert.equal(await page.locator('[data-testid="onec-cache"] tr[data-fresh="false"]').count(), 0);
      assert.ok(await page.locator('[data-testid="onec-cache"] tbody tr').count() >= 10);
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll after the refresh");
      assert.deepEqual(pageErrors, []);
    } finally {
      await t.close();
      await fake.close();
    }
  },
);

browserTest(
  "browser: load board cards keep their status labels inside the card at desktop width",
  async (browser) => {
    const clock = new TestClock();
    const fake = await startBitrix24Fake({ now: () => clock.now() });
    const t = await startTestHub({ env: { BITRIX_WEBHOOK: fake.webhookUrl, ...ADMIN_ENV }, clock });
    try {
      for (const width of [1280, 390]) {
        const { context, page } = await loggedIn(browser, t.url, {
          path: "/admin/onec",
          width,
          height: 900,
          locale: "en-US",
        });
        await page.locator('[data-testid="load-board"] article').first().waitFor();
        // Every cell's content lies within its card (nothing cut off or sticking out).
        const outside = await page.evaluate(() => {
          const bad: string[] = [];
          for (const card of document.querySelectorAll('[data-testid="load-board"] article')) {
            const box = card.getBoundingClientRect();
            for (const cell of card.querySelectorAll("td, header *")) {
              const r = cell.getBoundingClientRect();
              const scrolls = (cell as HTMLElement).scrollWidth > (cell as HTMLElement).clientWidth + 1;
              if (r.left < box.left - 1 || r.right > box.right + 1 || scrolls) bad.push(cell.textContent ?? "");
            }
          }
          return bad;
        });
        assert.deepEqual(outside, [], `cells cut off at ${width}px`);
        assert.equal(await horizontalOverflow(page), 0, `no horizontal page scroll at ${width}px`);
        await context.close();
      }
    } finally {
      await t.close();
      await fake.close();
    }
  },
);

/** Open tasks of one board section, as shown. */
async function openTasks(page: Page, section: string): Promise<number> {
  const cells = await page.locator(
    `[data-testid="load-board"] article[data-section="${section}"] [data-testid="open-tasks"]`,
  ).allTextContents();
  return cells.reduce((n, c) => n + Number(c), 0);
}
