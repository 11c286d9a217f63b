/**
 * Browser tests: the Scheduler page shows next run times with their zone and a
 * run arriving live over SSE; an admin edits, disables and deletes a schedule.
 */
import assert from "node:assert/strict";
import { ADMIN_ENV, browserTest, horizontalOverflow, loggedIn } from "../helpers/browser.ts";
import { eventually, startTestHub, type TestHub } from "../helpers/hub.ts";
import { recordingServer } from "../helpers/scheduler.ts";

browserTest(
  "browser: the Scheduler page shows a run appear live after Run now",
  async (browser) => {
    const server = recordingServer(() => new Response("done"));
    const t = await startTestHub({ env: ADMIN_ENV });
    try {
      const id = await createNightlyExport(t, `${server.url}/export`);

      const { page } = await loggedIn(browser, t.url, { path: "/admin/scheduler", locale: "en-US" });

      const scheduleRow = page.locator(`[data-schedule-id="${id}"]`);
      assert.match(
        await scheduleRow.locator('[data-testid="next-run"]').textContent() ?? "",
        /02:30 \(Europe\/Berlin\)/,
      );
      await page.waitForSelector('[data-testid="stream-state"][data-state="live"]', { timeout: 10_000 });
      assert.equal(await page.locator("tr[data-run-id]").count(), 0);

      // Run now from the page; the finished run arrives over SSE without a reload.
      await scheduleRow.locator("button", { hasText: "Run now" }).click();
      const run = page.locator('[data-testid="runs-table"] tr[data-run-id]');
      await run.waitFor({ timeout: 10_000 });
      assert.match(await run.textContent() ?? "", /Europe\/Berlin.*Nightly export.*by hand.*ok.*200/s);
      assert.equal(server.calls.length, 1);
      assert.equal(server.calls[0].path, "/export");
    } finally {
      await t.close();
      await server.close();
    }
  },
);

browserTest(
  "browser: an admin edits, disables and deletes a schedule from the page; the API reads the changes back",
  async (browser) => {
    const server = recordingServer(() => new Response("done"));
    const t = await startTestHub({ env: ADMIN_ENV });
    try {
      const id = await createNightlyExport(t, `${server.url}/export`, {
        retry: { attempts: 2, backoffMs: 250 },
        action: {
          headers: { "X-Api-Key": "k-123", "X-Tenant": "t1", "X-Plain-Secret": "s-9" },
          secretHeaders: ["X-Plain-Secret"],
          body: "go",
        },
      });
      const read = async () => await (await t.api(`/api/v1/schedules/${id}`)).json();

      const { page } = await loggedIn(browser, t.url, {
        path: "/admin/scheduler",
        width: 390,
        height: 844,
        locale: "en-US",
      });
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll at 390px");

      // Edit: the schedule's page opens with the form prefilled (secrets masked).
      await page.locator(`[data-schedule-id="${id}"] a`, { hasText: "Edit" }).click();
      await page.waitForURL(`${t.url}/admin/scheduler/${id}#edit`);
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll at 390px");
      // Hydrated, and the #edit link opened the form.
      const form = page.locator('[data-testid="edit-schedule"][data-ready]');
      await form.waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('[data-testid="edit-details"]').getAttribute("open"), "");
      assert.equal(await form.locator('input[name="name"]').inputValue(), "Nightly export");
      assert.match(await form.locator('input[name="headers"]').inputValue(), /"X-Api-Key":"••••"/);
      assert.equal(await form.locator('input[name="backoffMs"]').inputValue(), "250");
      await form.locator('input[name="name"]').fill("Morning export");
      await form.locator('input[name="cron"]').fill("15 7 * * 1-5");
      await form.locator("button", { hasText: "Save changes" }).click();
      await page.waitForSelector('[data-testid="schedule-facts"]:has-text("15 7 * * 1-5")', { timeout: 10_000 });
      assert.match(await page.locator('[data-testid="next-run"]').textContent() ?? "", /07:15 \(Europe\/Berlin\)/);

      const edited = await read();
      assert.equal(edited.name, "Morning export");
      assert.equal(edited.cron, "15 7 * * 1-5");
      assert.equal(edited.timezone, "Europe/Berlin");
      assert.deepEqual(edited.retry, { attempts: 2, backoffMs: 250 });
      assert.equal(edited.action.body, "go");
      assert.equal(edited.revision, 2);
      // The masked secrets kept their stored values (also the one secret only by name).
      const queued = await t.api(`/api/v1/schedules/${id}/run`, { method: "POST" });
      const { id: runId } = await queued.json();
      await eventually(() => server.calls.length === 1);
      assert.equal(server.calls[0].headers.get("x-api-key"), "k-123");
      assert.equal(server.calls[0].headers.get("x-plain-secret"), "s-9");
      assert.equal(server.calls[0].headers.get("x-tenant"), "t1");

      // The run's page fits a phone too.
      await eventually(async () => (await (await t.api(`/api/v1/runs/${runId}`)).json()).outcome === "ok");
      await page.goto(`${t.url}/admin/scheduler/runs/${runId}`);
      assert.equal(await page.locator('[data-testid="response-body"]').textContent(), "done");
      assert.equal(await horizontalOverflow(page), 0, "no horizontal page scroll at 390px");

      // Disable and enable again from the list.
      await page.goto(`${t.url}/admin/scheduler`);
      await page.waitForSelector('[data-testid="stream-state"][data-state="live"]', { timeout: 10_000 });
      const row = page.locator(`[data-schedule-id="${id}"]`);
      assert.match(await row.textContent() ?? "", /Morning export/);
      await row.locator("button", { hasText: "Disable" }).click();
      await row.locator("mark", { hasText: "disabled" }).waitFor();
      assert.equal(await row.locator('[data-testid="next-run"]').textContent(), "—");
      assert.equal((await read()).enabled, false);
      await row.locator("button", { hasText: "Enable" }).click();
      await row.locator("button", { hasText: "Disable" }).waitFor();
      assert.equal((await read()).enabled, true);

      // Delete asks first; dismissing keeps the schedule, accepting deletes it.
      page.once("dialog", (d) => d.dismiss());
      await row.locator("button", { hasText: "Delete" }).click();
      assert.equal((await read()).id, id);
      page.once("dialog", (d) => d.accept());
      await row.locator("button", { hasText: "Delete" }).click();
      await row.waitFor({ state: "detached" });
      const gone = await t.api(`/api/v1/schedules/${id}`);
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    } finally {
      await t.close();
      await server.close();
    }
  },
);

/**
 * "Nightly export" at 02:30 Berlin time, an HTTP action to `url` (the recording server on 127.0.0.1, which the
 * organization is allowed to reach); `more` adds to the schedule and its action. Answers the schedule's id.
 */
async function createNightlyExport(
  t: TestHub,
  url: string,
  { action, ...more }: { action?: Record<string, unknown>; [field: string]: unknown } = {},
): Promise<string> {
  const allow = await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
  await allow.body?.cancel();
  const created = await t.api("/api/v1/schedules", {
    method: "POST",
    json: {
      name: "Nightly export",
      cron: "30 2 * * *",
      timezone: "Europe/Berlin",
      ...more,
      action: { type: "http", url, ...action },
    },
  });
  assert.equal(created.status, 201, await created.clone().text());
  return (await created.json()).id;
}
