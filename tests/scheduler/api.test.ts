import assert from "node:assert/strict";
import { eventually, startTestHub } from "../helpers/hub.ts";
import { recordingServer } from "../helpers/scheduler.ts";

Deno.test("POST /api/v1/schedules answers 422 naming the bad field", async () => {
  const t = await startTestHub({ env: { SHLYUZ_SCHEDULER_BODY_LIMIT: "32" } });
  try {
    const http = { type: "http", url: "https://example.com/hook" };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: "x", cron: "99 * * * *", action: http }, "cron"],
      [{ name: "x", cron: "* * * * *", timezone: "Europe/Atlantis", action: http }, "timezone"],
      [{ name: "x", cron: "* * * * *", action: { type: "http", url: "file:///etc/passwd" } }, "action.url"],
      [{ name: "x", cron: "* * * * *", action: { ...http, body: "x".repeat(33) } }, "action.body"],
      [{ name: "x", cron: "* * * * *", action: { type: "internal", job: "no.such.job" } }, "action.job"],
      [{ name: "x", cron: "* * * * *", action: { type: "http", url: "http://169.254.169.254/" } }, "action.url"],
    ];
    for (const [body, field] of cases) {
      const res = await t.api("/api/v1/schedules", { method: "POST", json: body });
      const answer = await res.json();
      assert.equal(res.status, 422, JSON.stringify(answer));
      assert.equal(answer.error.code, "validation_failed");
      assert.ok(
        answer.error.details.some((d: { field: string }) => d.field === field),
        `${field} in ${JSON.stringify(answer.error.details)}`,
      );
    }
  } finally {
    await t.close();
  }
});

Deno.test("viewers read schedules and runs; writing needs the admin role", async () => {
  const t = await startTestHub();
  try {
    const created = await t.api("/api/v1/schedules", {
      method: "POST",
      json: { name: "hourly", cron: "0 * * * *", action: { type: "http", url: "https://example.com/h" } },
    });
    assert.equal(created.status, 201);
    const schedule = await created.json();
    assert.equal(schedule.timezone, "Europe/Moscow", "default zone from SHLYUZ_TIMEZONE");
    assert.match(schedule.nextRunLocal, /Europe\/Moscow \(GMT\+3\)$/);
    const viewer = await t.tokenFor("viewer");
    const list = await t.api("/api/v1/schedules", { token: viewer });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).items.length, 1);
    const runs = await t.api(`/api/v1/schedules/${schedule.id}/runs`, { token: viewer });
    assert.deepEqual(await runs.json(), { items: [] });
    const denied = await t.api(`/api/v1/schedules/${schedule.id}`, {
      method: "PATCH",
      json: { enabled: false },
      token: viewer,
    });
    assert.equal(denied.status, 403);
    await denied.body?.cancel();
    const operatorRun = await t.api(`/api/v1/schedules/${schedule.id}/run`, {
      method: "POST",
      token: await t.tokenFor("operator"),
    });
    assert.equal(operatorRun.status, 403);
    await operatorRun.body?.cancel();
    const missing = await t.api("/api/v1/schedules/nope");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const del = await t.api(`/api/v1/schedules/${schedule.id}`, { method: "DELETE" });
    assert.equal(del.status, 204);
  } finally {
    await t.close();
  }
});

Deno.test("Run now calls the local server through the queue and the run's saved data is readable", async () => {
  const server = recordingServer(() => Response.json({ exported: 42 }));
  const t = await startTestHub();
  try {
    const setting = await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    assert.equal(setting.status, 200);
    await setting.body?.cancel();
    const created = await t.api("/api/v1/schedules", {
      method: "POST",
      json: {
        name: "export",
        cron: "0 3 * * *",
        timezone: "Asia/Vladivostok",
        action: { type: "http", url: `${server.url}/export`, headers: { "X-Api-Key": "k-123" }, body: "go" },
      },
    });
    const schedule = await created.json();
    assert.equal(schedule.action.headers["X-Api-Key"], "••••");
    const queued = await t.api(`/api/v1/schedules/${schedule.id}/run`, { method: "POST" });
    assert.equal(queued.status, 202);
    const { id: runId } = await queued.json();
    const run = await eventually(async () => {
      const res = await t.api(`/api/v1/runs/${runId}`);
      const body = await res.json();
      return body.outcome === "ok" ? body : null;
    });
    assert.equal(run.httpStatus, 200);
    assert.equal(run.responseBody, '{"exported":42}');
    assert.equal(run.timezone, "Asia/Vladivostok");
    assert.equal(run.trigger, "manual");
    assert.equal(server.calls[0].headers.get("x-api-key"), "k-123");
    assert.equal(server.calls[0].body, "go");
    const list = await (await t.api(`/api/v1/schedules/${schedule.id}/runs`)).json();
    assert.deepEqual(list.items.map((r: { id: string }) => r.id), [runId]);
    const [event] = await t.hub.events.recent(t.org, { types: ["schedule.run"] });
    assert.equal(event.data.runId, runId);
  } finally {
    await t.close();
    await server.close();
  }
});
