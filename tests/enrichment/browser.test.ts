/**
 * Browser test of the Enrichment page: an operator submits tasks through the
 * island's form and the results appear live in the table (SSE), without a
 * reload; the page fits a phone screen.
 */
import assert from "node:assert/strict";
import { ADMIN_ENV, browserTest, horizontalOverflow, loggedIn } from "../helpers/browser.ts";
import { startTestHub } from "../helpers/hub.ts";
import { startDadataFake } from "../fakes/dadata.ts";
import { startYandexGptFake } from "../fakes/yandexgpt.ts";

browserTest(
  "browser: a phone task sent from the Enrichment page form shows up live in the results table",
  async (browser) => {
    const dadata = await startDadataFake();
    const gpt = await startYandexGptFake();
    const t = await startTestHub({
      env: {
        ...ADMIN_ENV,
        DADATA_BASE_URL: dadata.url,
        DADATA_API_KEY: "test-dadata-key",
        DADATA_SECRET_KEY: "test-dadata-secret",
        YANDEXGPT_BASE_URL: gpt.url,
        YANDEXGPT_API_KEY: "test-yandexgpt-key",
        YANDEXGPT_FOLDER_ID: "b1gtest",
      },
    });
    try {
      const { page } = await loggedIn(browser, t.url, {
        path: "/admin/enrichment",
        width: 390, // a phone-width screen
        height: 844,
        locale: "en-US",
      });
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll at 390px");
      // Hydrated and subscribed: the island shows the stream as live.
      await page.waitForSelector('[data-testid="live-state"][data-state="live"]', { timeout: 10_000 });
      const results = page.locator('[data-testid="live-results"] tbody tr');
      assert.equal(await results.count(), 0);

      // Synchronous: the form answers with {task_id, id}; the row arrives over SSE.
      const form = page.locator('[data-testid="task-form"]');
      await form.locator('input[name="task_id"]').fill("4242");
      await form.locator('select[name="task_type"]').selectOption("phone");
      await form.locator('input[name="data"]').fill("8 916 123 45 67");
      await form.locator('button[type="submit"]').click();
      await page.waitForSelector('[data-testid="task-answer"]:has-text("HTTP 200")', { timeout: 10_000 });
      const answer = await page.locator('[data-testid="task-answer"]').textContent() ?? "";
      const rowId = Number(/"id":(\d+)/.exec(answer)?.[1]);
      assert.ok(rowId > 0, `the answer carries the row id: ${answer}`);
      const row = page.locator(`[data-testid="live-results"] tr[data-task-id="4242"]`);
      await row.waitFor({ timeout: 10_000 });
      assert.match(await row.textContent() ?? "", new RegExp(`4242.*phone.*${rowId}`));
      assert.equal(await row.locator("a").getAttribute("href"), `/admin/enrichment/rows/${rowId}`);
      assert.equal(dadata.state.calls, 1);

      // Queued (a gpt task through the batch endpoint): 202 at once, the result follows live.
      await form.locator('input[name="task_id"]').fill("4243");
      await form.locator('select[name="task_type"]').selectOption("gpt");
      await form.locator('input[name="data"]').fill("Скажи привет");
      await form.locator('input[name="async"]').check();
      await form.locator('button[type="submit"]').click();
      await page.waitForSelector('[data-testid="task-answer"]:has-text("HTTP 202")', { timeout: 10_000 });
      await page.locator(`[data-testid="live-results"] tr[data-task-id="4243"]`).waitFor({ timeout: 10_000 });
      assert.equal(await results.count(), 2);

      // A rejected task shows its reason in the table, too.
      dadata.state.faults.forceStatus = 403;
      await form.locator('input[name="async"]').uncheck();
      await form.locator('input[name="task_id"]').fill("4244");
      await form.locator('select[name="task_type"]').selectOption("email");
      await form.locator('input[name="data"]').fill("someone@mail.ru");
      await form.locator('button[type="submit"]').click();
      await page.waitForSelector('[data-testid="task-answer"]:has-text("HTTP 502")', { timeout: 10_000 });
      const failed = page.locator(`[data-testid="live-results"] tr[data-task-id="4244"]`);
      await failed.waitFor({ timeout: 10_000 });
      assert.match(await failed.textContent() ?? "", /DaData rejected the API key/);
      assert.equal(await horizontalOverflow(page), 0, "still no horizontal page scroll with rows in the table");

      // After a reload the server renders the same rows, the stored row and the dead letter; still phone-wide.
      await page.reload();
      await page.waitForSelector('[data-testid="live-state"][data-state="live"]', { timeout: 10_000 });
      assert.equal(await results.count(), 3);
      await page.locator('[data-testid="enrichment-dead"]').waitFor();
      assert.match(await page.locator('[data-testid="rows"]').textContent() ?? "", /4242/);
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll with dead letters and rows");
    } finally {
      await t.close();
      await gpt.close();
      await dadata.close();
    }
  },
);
