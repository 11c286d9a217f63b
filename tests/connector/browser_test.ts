/**
 * Browser test of the Connectors & SLA page (ru-RU, 390 px, then 1280 px): an
 * admin creates a connector in the page, a real agent runs with the
 * credentials it shows and the card turns "в сети" live; a poll fills the
 * tables and the charts (their own bundle); the admin sets a 5-second
 * interval in the page, and a ticket crossing its SLA in the fake ticket
 * system then appears by itself — table, counters and the ranking chart —
 * without a click or a reload.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { ADMIN_ENV, assertFits, assertRussian, browserTest, loggedIn } from "../helpers/browser.ts";
import { startTestHub } from "../helpers/hub.ts";
import { FAKE_USER, startTicketSystemFake } from "../fakes/ticket_system.ts";
import { Agent } from "../../lib/connector/agent.ts";
import { HttpTicketAdapter } from "../../lib/connector/http_adapter.ts";

const HOUR = 3600_000;
const PAGE = "/admin/connectors";

browserTest(
  "browser: a connector created on the page comes online live and the SLA dashboard follows the ticket system",
  async (browser) => {
    const fake = await startTicketSystemFake();
    const t = await startTestHub({ env: ADMIN_ENV });
    let agent: Agent | null = null;
    try {
      const iso = (ms: number) => new Date(ms).toISOString();
      const now = Date.now();
      fake.upsert({
        number: "T-1",
        subject: "Нет связи в цехе",
        created_at: iso(now - 5 * HOUR),
        sla_deadline: iso(now - 2 * HOUR),
        delay_reason: "Ждём подрядчика",
      });
      fake.transfer("T-1", "Сеть");
      fake.upsert({
        number: "T-3",
        subject: "Новый сотрудник",
        created_at: iso(now - HOUR),
        sla_deadline: iso(now + 5 * HOUR),
      });
      fake.upsert({ number: "T-4", subject: "Замена картриджа", created_at: iso(now - 4 * HOUR) });
      fake.pause("T-4", "Ждём запчасть");

      const { context, page } = await loggedIn(browser, t.url, { width: 390, height: 844, path: PAGE });
      await page.waitForSelector('[data-testid="live-state"]:has-text("●")', { timeout: 10_000 });
      assert.match(await page.locator("h1, main").first().textContent() ?? "", /Коннекторы и SLA/);
      assert.match(await page.locator('[data-testid="poll-state"]').textContent() ?? "", /Опросов ещё не было/);

      // Create a connector in the page; the credentials are shown once.
      await page.fill('[data-testid="connector-create"] input[name="name"]', "Цех 1");
      await page.click('[data-testid="connector-create"] button[type="submit"]');
      const creds = await page.locator('[data-testid="connector-credentials"] pre').textContent() ?? "";
      const env = Object.fromEntries(
        creds.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
      assert.match(env.TOKEN, /^sct_/);
      const card = page.locator(`[data-connector="${env.CONNECTOR_ID}"]`);
      assert.equal(await card.getAttribute("data-state"), "offline");
      await assertFits(page, "390 px, a connector created");
      await assertRussian(page, "390 px");

      // The agent with those credentials: the card turns online without a reload.
      agent = new Agent({
        server: env.SERVER,
        connectorId: env.CONNECTOR_ID,
        token: env.TOKEN,
        key: env.KEY,
        adapter: new HttpTicketAdapter({ baseUrl: fake.url, email: FAKE_USER.email, password: FAKE_USER.password }),
        filters: { arrears: "f-arrears", stopped: "f-stopped" },
        backoff: { baseMs: 20, maxMs: 200 },
        intervalSec: 60, // the old service's INTERVAL: shown on the card, the organization's interval applies
      });
      agent.start();
      await page.waitForSelector(`[data-connector="${env.CONNECTOR_ID}"][data-state="online"]`, { timeout: 10_000 });
      assert.match(await card.textContent() ?? "", /в сети/);
      assert.match(await card.textContent() ?? "", /INTERVAL агента: 60 с \(опрос идёт по расписанию организации\)/);

      // Poll now: the tables fill live.
      await page.click('[data-testid="poll-now"]');
      await page.waitForSelector('[data-testid="sla-overdue"] tr[data-ticket="T-1"]', { timeout: 10_000 });
      await page.waitForSelector('[data-testid="sla-suspended"] tr[data-ticket="T-4"]', { timeout: 10_000 });
      assert.equal(await page.locator('[data-testid="kpi-overdue"]').textContent(), "1");
      assert.match(
        await page.locator('[data-testid="sla-overdue"] tr[data-ticket="T-1"]').textContent() ?? "",
        /Первая линия: 5 ч; Сеть: меньше минуты/,
      );
      assert.match(await page.locator('[data-testid="sla-reasons"]').textContent() ?? "", /Ждём подрядчика/);
      assert.match(await page.locator('[data-testid="sla-departments"]').textContent() ?? "", /Первая линия — 100%/);

      // The charts came with their own bundle and drew the poll.
      await page.waitForSelector('[data-testid="chart-sla-trend"] canvas', { timeout: 10_000 });
      await page.waitForSelector('[data-testid="chart-sla-ranking"] canvas', { timeout: 10_000 });
      assert.equal(await rankingTotals(page), "Просрочка, ч: 2");

      // The organization's interval, set in the page: 5 seconds (the form saves and reloads the page).
      assert.match(await page.locator('[data-testid="sla-interval-now"]').textContent() ?? "", /раз в 300 с/);
      await page.fill('[data-testid="sla-settings"] input[name="intervalSec"]', "5");
      await page.click('[data-testid="sla-settings"] button[type="submit"]');
      await page.waitForSelector('[data-testid="sla-interval-now"]:has-text("раз в 5 с")', { timeout: 10_000 });
      assert.match(await page.locator('[data-testid="source-intervalSec"]').textContent() ?? "", /задано организацией/);
      await page.waitForSelector('[data-testid="live-state"]:has-text("●")', { timeout: 10_000 });

      // T-3 goes three hours over its SLA in the ticket system: the next scheduled poll brings it in by itself.
      fake.upsert({ number: "T-3", sla_deadline: iso(Date.now() - 3 * HOUR) });
      await page.waitForSelector('[data-testid="sla-overdue"] tr[data-ticket="T-3"]', { timeout: 15_000 });
      await page.waitForSelector('[data-testid="kpi-overdue"]:has-text("2")', { timeout: 10_000 });
      await page.waitForFunction(
        () => document.querySelector('[data-testid="chart-sla-ranking-totals"]')?.textContent === "Просрочка, ч: 3",
        undefined,
        { timeout: 10_000 },
      );
      await assertFits(page, "390 px, full tables and charts");
      await context.close();

      // The same page at 1280 px: both charts span their column, nothing overflows.
      const { context: wide, page: desk } = await loggedIn(browser, t.url, { width: 1280, height: 900, path: PAGE });
      await desk.waitForSelector('[data-testid="chart-sla-ranking"] canvas', { timeout: 10_000 });
      const trendWidth = await desk.locator('[data-testid="chart-sla-trend"] canvas').evaluate((c) =>
        c.getBoundingClientRect().width
      );
      assert.ok(trendWidth > 500, `the trend chart uses the width at 1280 px (${trendWidth} px)`);
      assert.equal(await rankingTotals(desk), "Просрочка, ч: 3");
      await assertFits(desk, "1280 px");
      await assertRussian(desk, "1280 px");
      await wide.close();
    } finally {
      await agent?.stop();
      await t.close();
      await fake.shutdown();
    }
  },
);

async function rankingTotals(page: Page): Promise<string> {
  return (await page.locator('[data-testid="chart-sla-ranking-totals"]').textContent() ?? "").trim();
}
