import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { ADMIN_ENV, assertFits, assertRussian, browserTest, loggedIn, VIEWPORTS } from "../helpers/browser.ts";

/** The foundation's pages with what they must show in Russian. */
const PAGES: Array<[path: string, heading: string]> = [
  ["/admin", "Обзор"],
  ["/admin/executions", "Журнал выполнений"],
  ["/admin/events", "События"],
  ["/admin/members", "Участники"],
  ["/admin/tokens", "API-токены"],
  ["/admin/audit", "Журнал аудита"],
  ["/admin/dead-letters", "Недоставленные"],
  ["/admin/settings", "Настройки"],
  ["/admin/enrichment", "Обогащение"],
  ["/admin/connectors", "Коннекторы и SLA"],
  ["/admin/notifications", "Уведомления"],
];

browserTest(
  "browser: every foundation page reads in Russian and fits a 1280 px and a 390 px screen",
  async (browser) => {
    const t = await startTestHub({ env: ADMIN_ENV });
    try {
      // Rows in every table: a member, a token, audit entries, a dead letter with a long reason, an event.
      await t.api("/api/v1/members", {
        method: "POST",
        json: {
          email: "operator@example.com",
          name: "Ольга Операторова",
          password: "operator password",
          role: "operator",
        },
      });
      await t.api("/api/v1/tokens", { method: "POST", json: { name: "1С, рабочая база", role: "operator" } });
      await t.hub.queue.dead.file({
        envelope: t.hub.queue.envelope({
          kind: "task.process",
          payload: { tasks: [{ task: { task_id: 1 } }] },
          org: t.org,
          id: "dl-1",
        }),
        reason:
          "Cannot enrich task 1: DaData answered 403 — check DADATA_API_KEY and DADATA_SECRET_KEY (a very long reason that must wrap)",
        attempts: 5,
      });
      await t.hub.events.publish(t.org, "custom.browser", { text: "очень длинное значение ".repeat(20) });
      for (const vp of VIEWPORTS) {
        const { context, page } = await loggedIn(browser, t.url, { width: vp.width, height: vp.height });
        try {
          for (const [path, heading] of PAGES) {
            await page.goto(`${t.url}${path}`);
            const where = `${path} at ${vp.width}px`;
            assert.equal((await page.textContent("main h1"))?.trim(), heading, where);
            await assertRussian(page, where);
            await assertFits(page, where);
          }
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
  "browser: a new token is shown once with a copy button and appears in the list without a reload",
  async (browser) => {
    const t = await startTestHub({ env: ADMIN_ENV });
    try {
      const { context, page } = await loggedIn(browser, t.url, { width: 390, height: 844 });
      try {
        await page.goto(`${t.url}/admin/tokens`);
        await page.waitForFunction(() => document.querySelector("[data-island=tokens_panel]") !== null);
        const rowsBefore = await page.locator("[data-testid=tokens-table] tbody tr").count();
        await page.fill('[data-testid=new-token] input[name="name"]', "Скрипт выгрузки");
        await page.click('[data-testid=new-token] button[type="submit"]');
        const value = await page.locator("[data-testid=token-value]").textContent();
        assert.match(value ?? "", /^shz_/);
        await page.locator("[data-testid=tokens-table] tbody tr", { hasText: "Скрипт выгрузки" }).waitFor();
        assert.equal(await page.locator("[data-testid=tokens-table] tbody tr").count(), rowsBefore + 1);
        await page.click("[data-testid=copy-button]");
        await page.locator("[data-testid=copy-button]", { hasText: "Скопировано" }).waitFor();
        await assertFits(page, "tokens after creating one");
      } finally {
        await context.close();
      }
    } finally {
      await t.close();
    }
  },
);
