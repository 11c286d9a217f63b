/**
 * Browser test of the Notifications page at 390px in Russian: the bot and the
 * group are listed, a rule is created in the page (with the tester's preview),
 * an event triggers it, and the message shows in the fake Telegram (its chat
 * view) and in the page's delivery log, live; nothing scrolls sideways.
 */
import assert from "node:assert/strict";
import { ADMIN_ENV, browserTest, horizontalOverflow, loggedIn } from "../helpers/browser.ts";
import { failedRun, startNotifyHarness } from "./_setup.ts";

browserTest(
  "browser: create a rule on the Notifications page, trigger it, see the message in the fake Telegram (390px, ru)",
  async (browser) => {
    const h = await startNotifyHarness({ env: ADMIN_ENV });
    try {
      const { token } = await h.addBot("demo_bot");
      const { tgChatId } = await h.addGroup(token, "Дежурная смена");
      const errors: string[] = [];
      const { context: ctx, page } = await loggedIn(browser, h.url, {
        path: "/admin/notifications",
        width: 390,
        height: 844,
        pageErrors: errors,
      });
      await page.locator("h1", { hasText: "Уведомления" }).waitFor();
      await page.locator('[data-testid="bot"]', { hasText: "@demo_bot" }).waitFor();
      await page.locator('[data-testid="chat"]', { hasText: "Дежурная смена" }).waitFor();
      assert.equal(await horizontalOverflow(page), 0, "no sideways scroll at 390px");

      await page.locator('[data-island="notify_rules"] [data-ready]').waitFor();
      await page.click('[data-testid="rule-new"]');
      await page.fill('[data-testid="rule-form"] input[name="name"]', "Сбой расписания");
      await page.fill('[data-testid="rule-form"] input[name="eventType"]', "schedule.failed");
      await page.fill('[data-testid="rule-form"] textarea[name="template"]', "⚠️ <b>{{scheduleName}}</b>: {{reason}}");
      await page.locator('[data-testid="rule-form"] label', { hasText: "Дежурная смена" }).locator("input").check();
      assert.equal(await horizontalOverflow(page), 0, "the open rule editor fits at 390px");
      await page.locator("summary", { hasText: "Проверить правило" }).click();
      await page.fill('textarea[name="sample"]', '{"scheduleName": "Выгрузка", "reason": "HTTP 502"}');
      await page.click('[data-testid="rule-test"]');
      await page.locator('[data-testid="rule-preview"]', { hasText: "⚠️ <b>Выгрузка</b>: HTTP 502" }).waitFor();
      await page.click('[data-testid="rule-save"]');
      await page.locator('[data-testid="rule"]', { hasText: "Сбой расписания" }).waitFor();

      await page.waitForSelector('[data-testid="log-state"][data-state="live"]', { timeout: 10_000 }).catch((e) => {
        throw new Error(`${e.message}; page errors: ${errors.join(" | ")}`);
      });
      await h.publish(
        "schedule.failed",
        failedRun({ scheduleId: "s1", scheduleName: "Выгрузка в 1С", reason: "HTTP 502" }),
      );
      // The delivery log shows it live, without a reload.
      await page.locator('[data-testid="delivery"]', { hasText: "доставлено" }).waitFor({ timeout: 15_000 });
      assert.equal(h.tg.messagesIn(tgChatId).length, 1);
      assert.equal(h.tg.messagesIn(tgChatId)[0].text, "⚠️ <b>Выгрузка в 1С</b>: HTTP 502");

      // The fake Telegram's chat view shows the message as a chat would.
      const tgPage = await ctx.newPage();
      await tgPage.goto(h.tg.url);
      await tgPage.locator(".msg", { hasText: "Выгрузка в 1С: HTTP 502" }).waitFor();
      assert.deepEqual(errors, []);
      await ctx.close();
    } finally {
      await h.close();
    }
  },
);
