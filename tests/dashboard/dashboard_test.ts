import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { FakeClock } from "../helpers/clocks.ts";
import { buildDashboard } from "../../lib/dashboard/mod.ts";
import { appendLog, type LogEntry } from "../../lib/onec/store.ts";
import { ulid } from "ulid";
import type { Run } from "../../lib/scheduler/schedule_schema.ts";
import type { DashboardData } from "../../lib/dashboard/types.ts";

const T0 = Date.UTC(2026, 11, 2, 10, 30); // 10:30 UTC: the current bucket starts at 10:00
const MIN = 60_000;

function run(scheduleId: string, at: number, outcome: Run["outcome"], durationMs?: number): Run {
  const iso = new Date(at).toISOString();
  return {
    id: ulid(at), // not the monotonic newId(): these runs are made out of time order
    org: "",
    scheduleId,
    scheduleName: "Каждые 7 минут",
    revision: 1,
    timezone: "UTC",
    trigger: "schedule",
    plannedAt: iso,
    startedAt: iso,
    finishedAt: iso,
    durationMs,
    outcome,
  };
}

function onec(at: number, outcome: LogEntry["outcome"], unassigned = false): Omit<LogEntry, "id"> {
  return {
    at: new Date(at).toISOString(),
    requestId: `req-${at}`,
    outcome,
    durationMs: 10,
    bitrixCalls: 1,
    tasks: [{
      onecId: `ЗК-${at}`,
      title: "t",
      calculation: "c",
      op: outcome === "ok" ? "created" : "failed",
      unassigned,
    }],
  };
}

const card = (d: DashboardData, key: string) => d.cards.find((c) => c.key === key)!;
const series = (d: DashboardData, chart: string, label: string) =>
  d.charts.find((c) => c.key === chart)!.series.find((s) => s.label === label)!.values;

Deno.test("buildDashboard() buckets the last 24 h per hour for every area and words what needs attention", async () => {
  const clock = new FakeClock(T0);
  const t = await startTestHub({ clock, env: { DADATA_API_KEY: "k", DADATA_SECRET_KEY: "s" } });
  try {
    const created = await (await t.api("/api/v1/schedules", {
      method: "POST",
      json: {
        name: "Каждые 7 минут",
        cron: "*/7 * * * *",
        timezone: "UTC",
        action: { type: "internal", job: "bitrix.cache.refresh", payload: {} },
      },
    })).json();
    const org = t.org;
    const runs = t.hub.scheduler!.runs;
    for (
      const r of [
        run(created.id, T0 - 120 * MIN, "ok", 100),
        run(created.id, T0 - 120 * MIN, "failed", 300),
        run(created.id, T0 - 10 * MIN, "ok", 100),
        run(created.id, T0 - 9 * MIN, "ok", 300),
        run(created.id, T0 - 30 * 60 * MIN, "failed"), // older than 24 h: not counted
      ]
    ) await runs.save({ ...r, org });
    await appendLog(t.hub.kv, org, onec(T0 - 60 * MIN, "ok", true), T0 - 60 * MIN);
    await appendLog(t.hub.kv, org, onec(T0 - 5 * MIN, "failed"), T0 - 5 * MIN);
    await t.hub.enrichment!.processor.deadLetterInvalid(org, { task_id: 5 }, "task_type: required", "test");

    let d = await buildDashboard(t.hub, org);
    assert.equal(d.hours.length, 24);
    assert.equal(d.hours[23], Date.UTC(2026, 11, 2, 10));
    assert.deepEqual(series(d, "scheduler_runs", "overview.series.ok").slice(20), [0, 1, 0, 2]);
    assert.deepEqual(series(d, "scheduler_runs", "overview.series.failed").slice(20), [0, 1, 0, 0]);
    assert.deepEqual(series(d, "scheduler_runs", "overview.series.success_rate").slice(20), [null, 50, null, 100]);
    assert.deepEqual(series(d, "scheduler_duration", "overview.series.mean_ms").slice(21), [200, null, 200]);
    assert.equal(card(d, "scheduler").total24h, 4);
    assert.equal(card(d, "scheduler").failed24h, 1);
    assert.equal(card(d, "scheduler").health, "warn");
    assert.deepEqual(series(d, "onec_requests", "overview.series.requests").slice(22), [1, 1]);
    assert.deepEqual(series(d, "onec_requests", "overview.series.fallbacks").slice(22), [1, 0]);
    assert.equal(card(d, "onec").health, "fail", "the last 1C request failed");
    assert.ok(card(d, "onec").attention.some((a) => a.code === "bitrix_missing"));
    assert.deepEqual(series(d, "enrichment_throughput", "overview.series.failed").slice(23), [1]);
    assert.equal(card(d, "enrichment").failed24h, 1);
    assert.equal(card(d, "dead").total24h, 1);
    assert.deepEqual(card(d, "dead").attention, [{
      code: "dead_waiting",
      count: 1,
      href: "/admin/executions?area=dead",
    }]);
    assert.deepEqual(d.cards.filter((c) => c.planned).map((c) => c.key), ["notifications", "connectors"]);

    // Saved at 10:30 (*/7: 10:28, 10:35, …) and nothing fired since (crons are off in tests): overdue from 10:35 + grace.
    assert.equal(d.overdue.schedules, 0, "10:35 has not come yet");
    clock.set(T0 + 8 * MIN);
    d = await buildDashboard(t.hub, org);
    assert.equal(d.overdue.schedules, 1, "10:35 came and went with no run");
    assert.ok(card(d, "scheduler").attention.some((a) => a.code === "schedules_overdue"));
    await runs.save({ ...run(created.id, T0 + 5 * MIN, "ok", 10), org });
    d = await buildDashboard(t.hub, org);
    assert.deepEqual(d.overdue, { total: 0, schedules: 0, enrichment: 0 }, "the 10:35 run is recorded");

    const check = Object.fromEntries(d.checklist.map((i) => [i.key, i]));
    assert.equal(check.bitrix.done, false);
    assert.deepEqual([check.dadata.done, check.dadata.source], [true, "environment"]);
    assert.equal(check.yandexgpt.done, false);
    assert.equal(check.private_network.done, false);
    assert.equal(check.token.done, false, "the operator's SHLYUZ_ADMIN_TOKEN does not count");
    await (await t.api("/api/v1/tokens", { method: "POST", json: { name: "1C", role: "operator" } })).body?.cancel();
    await (await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } })).body
      ?.cancel();
    d = await buildDashboard(t.hub, org);
    assert.equal(d.checklist.find((i) => i.key === "token")!.done, true);
    assert.equal(d.checklist.find((i) => i.key === "private_network")!.done, true);
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/v1/dashboard answers viewers with the same data and refuses no token", async () => {
  const t = await startTestHub();
  try {
    const viewer = await t.tokenFor("viewer");
    const res = await t.api("/api/v1/dashboard", { token: viewer });
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.equal(body.hours.length, 24);
    assert.deepEqual(body.cards.map((c: { key: string }) => c.key), [
      "scheduler",
      "enrichment",
      "onec",
      "dead",
      "notifications",
      "connectors",
    ]);
    const anon = await t.api("/api/v1/dashboard", { token: null });
    assert.equal(anon.status, 401);
    await anon.body?.cancel();
  } finally {
    await t.close();
  }
});
