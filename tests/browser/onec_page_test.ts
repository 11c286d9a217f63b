import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { startBitrix24Fake } from "../fakes/bitrix24.ts";
import { sampleRequest } from "../../lib/onec/request_schema.ts";
import { ADMIN_ENV, assertFits, assertRussian, browserTest, loggedIn, VIEWPORTS } from "../helpers/browser.ts";

browserTest(
  "browser: the 1C page reads in Russian at 1280 and 390 px, shows a refused request and says caches were refreshed",
  async (browser) => {
    const fake = await startBitrix24Fake();
    const t = await startTestHub({ env: { ...ADMIN_ENV, BITRIX_WEBHOOK: fake.webhookUrl } });
    try {
      const operator = await t.tokenFor("operator");
      const ok = await t.api("/", { method: "POST", json: sampleRequest, token: operator });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
      const bad = await t.api("/", {
        method: "POST",
        json: { tasks: [{ ...sampleRequest.tasks[0], id: "ЗК-0042", title: "" }] },
        token: operator,
      });
      assert.equal(bad.status, 422);
      await bad.body?.cancel();
      for (const vp of VIEWPORTS) {
        const { context, page } = await loggedIn(browser, t.url, vp);
        try {
          await page.goto(`${t.url}/admin/onec`);
          const where = `/admin/onec at ${vp.width}px`;
          assert.equal((await page.textContent("main h1"))?.trim(), "1С → Битрикс24");
          await page.locator('[data-testid="load-board"] article').first().waitFor();
          const refused = page.locator('[data-testid="onec-log"] tr[data-onec-id="ЗК-0042"]');
          assert.match(await refused.textContent() ?? "", /отклонён \(422\).*tasks\.0\.title/s);
          await assertRussian(page, where);
          await assertFits(page, where);
          await page.locator("summary", { hasText: "Настройки" }).click();
          assert.match(
            await page.locator('[data-testid="source-webhookUrl"]').textContent() ?? "",
            /из окружения \(BITRIX_WEBHOOK\)/,
          );
          await assertFits(page, `${where}, settings open`);
          const reloaded = page.waitForEvent("load");
          await page.locator("button", { hasText: "Обновить кэши сейчас" }).click();
          await reloaded;
          await page.locator('[data-testid="cache-refresh"] [role="status"]', { hasText: "Кэши обновлены" }).waitFor();
        } finally {
          await context.close();
        }
      }
    } finally {
      await t.close();
      await fake.close();
    }
  },
);
