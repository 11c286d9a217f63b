import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { assertFits, assertRussian, browserTest, VIEWPORTS } from "../helpers/browser.ts";

browserTest(
  "browser: before the first start the login page hints at setup; login and setup fit 1280 and 390 px in Russian",
  async (browser) => {
    const t = await startTestHub({ owner: false });
    try {
      for (const vp of VIEWPORTS) {
        const context = await browser.newContext({ locale: "ru-RU", viewport: { width: vp.width, height: vp.height } });
        try {
          const page = await context.newPage();
          await page.goto(`${t.url}/admin/login`);
          const hint = page.locator('[data-testid="setup-pending"]');
          assert.equal(await hint.count(), 1, "the login page says setup is pending");
          assert.match(await hint.textContent() ?? "", /ссылку первого запуска.*SETUP/);
          await assertRussian(page, `login at ${vp.width}px`);
          await assertFits(page, `login at ${vp.width}px`);
          await page.goto(`${t.url}${new URL(t.setupUrl!).pathname}`);
          assert.equal((await page.textContent("main h1"))?.trim(), "Добро пожаловать в Шлюз");
          await assertRussian(page, `setup at ${vp.width}px`);
          await assertFits(page, `setup at ${vp.width}px`);
        } finally {
          await context.close();
        }
      }
    } finally {
      await t.close();
    }
  },
);
