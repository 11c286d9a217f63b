import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { ADMIN_ENV, assertFits, browserTest, loggedIn } from "../helpers/browser.ts";

browserTest("browser: a time zone set on the settings page resets to the environment's default", async (browser) => {
  const t = await startTestHub({ env: { ...ADMIN_ENV, SHLYUZ_TIMEZONE: "Europe/Moscow" } });
  try {
    const { context, page } = await loggedIn(browser, t.url, { path: "/admin/settings", width: 390, height: 844 });
    try {
      const form = page.locator('[data-testid="general-settings"]');
      const source = form.locator('[data-testid="source-timezone"]');
      assert.equal((await source.textContent())?.trim(), "(из окружения: Europe/Moscow)");

      // Set by the organization: saved, the page reloads and says so.
      await form.locator('input[name="timezone"]').fill("Asia/Vladivostok");
      await Promise.all([page.waitForEvent("load"), form.locator('button[type="submit"]').click()]);
      assert.equal((await source.textContent())?.trim(), "(задано организацией)");
      assert.equal(await form.locator('input[name="timezone"]').inputValue(), "Asia/Vladivostok");
      assert.equal((await (await t.api("/api/v1/settings/general")).json()).timezone, "Asia/Vladivostok");

      // Cleared: the environment's zone applies again, and the page says where it comes from.
      await form.locator('input[name="timezone"]').fill("");
      await Promise.all([page.waitForEvent("load"), form.locator('button[type="submit"]').click()]);
      assert.equal((await source.textContent())?.trim(), "(из окружения: Europe/Moscow)");
      assert.equal(await form.locator('input[name="timezone"]').inputValue(), "");
      assert.equal((await (await t.api("/api/v1/settings/general")).json()).timezone, "Europe/Moscow");
      await assertFits(page, "settings at 390 px");
    } finally {
      await context.close();
    }
  } finally {
    await t.close();
  }
});

browserTest(
  "browser: DaData keys saved on the Enrichment page go back to the environment's with the reset boxes",
  async (browser) => {
    const t = await startTestHub({
      env: { ...ADMIN_ENV, DADATA_API_KEY: "env-dadata-key", DADATA_SECRET_KEY: "env-dadata-secret" },
    });
    try {
      const { context, page } = await loggedIn(browser, t.url, { path: "/admin/enrichment", width: 390, height: 844 });
      try {
        const section = page.locator('[data-testid="dadata-settings"]');
        const keys = section.locator('[data-testid="dadata-keys"]');
        const apiKeySource = section.locator('[data-testid="source-apiKey"]');
        assert.equal((await keys.textContent())?.trim(), "(ключи из окружения)");
        await section.locator("summary").click();
        assert.equal((await apiKeySource.textContent())?.trim(), "(из окружения (DADATA_API_KEY))");

        await section.locator('input[name="apiKey"]').fill("org-dadata-key");
        await section.locator('input[name="secretKey"]').fill("org-dadata-secret");
        await Promise.all([page.waitForEvent("load"), section.locator('button[type="submit"]').click()]);
        assert.equal((await keys.textContent())?.trim(), "(ключи организации)");
        await section.locator("summary").click();
        assert.equal((await apiKeySource.textContent())?.trim(), "(задано организацией)");

        // Both reset boxes: the stored keys go, the environment's apply again.
        await section.locator('input[name="apiKey__reset"]').check();
        await section.locator('input[name="secretKey__reset"]').check();
        await Promise.all([page.waitForEvent("load"), section.locator('button[type="submit"]').click()]);
        assert.equal((await keys.textContent())?.trim(), "(ключи из окружения)");
        await section.locator("summary").click();
        assert.equal((await apiKeySource.textContent())?.trim(), "(из окружения (DADATA_API_KEY))");
        assert.equal(await section.locator('input[name="apiKey__reset"]').count(), 0, "nothing stored to reset");
        await assertFits(page, "enrichment settings at 390 px");
      } finally {
        await context.close();
      }
    } finally {
      await t.close();
    }
  },
);
