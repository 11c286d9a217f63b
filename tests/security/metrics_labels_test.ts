/**
 * Issue 10, finding 5: /metrics counts external calls per organization and
 * service — never per host or address, which tenants choose.
 */
import assert from "node:assert/strict";
import { eventually, startTestHub } from "../helpers/hub.ts";
import { recordingServer } from "../helpers/redirect_world.ts";
import { instrumentedFetch, labelledFetch } from "../../lib/http/instrumented_fetch.ts";
import { Metrics } from "../../lib/metrics.ts";

Deno.test("/metrics labels a scheduled HTTP action's calls with the organization and 'scheduler', not the target's host", async () => {
  const target = recordingServer(() => new Response("fine"));
  const t = await startTestHub();
  try {
    const setting = await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    assert.equal(setting.status, 200);
    await setting.body?.cancel();
    const created = await t.api("/api/v1/schedules", {
      method: "POST",
      json: {
        name: "ping",
        cron: "0 3 * * *",
        action: { type: "http", url: `http://127.0.0.1:${target.port}/tenant-chosen-path` },
      },
    });
    const schedule = await created.json();
    assert.equal(created.status, 201, JSON.stringify(schedule));
    const queued = await t.api(`/api/v1/schedules/${schedule.id}/run`, { method: "POST" });
    const { id: runId } = await queued.json();
    await eventually(async () => (await (await t.api(`/api/v1/runs/${runId}`)).json()).outcome === "ok");
    assert.equal(target.seen.length, 1);

    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const line = metrics.split("\n").find((l) => l.startsWith("shlyuz_external_requests_total{"));
    assert.equal(line, `shlyuz_external_requests_total{org="${t.org}",service="scheduler",status="2xx"} 1`);
    assert.doesNotMatch(metrics, new RegExp(`127\\.0\\.0\\.1|:${target.port}\\b|tenant-chosen-path`));
  } finally {
    await t.close();
    await target.close();
  }
});

Deno.test("labelledFetch(): each organization and service is its own series; a fetch that is not the hub's is left alone", async () => {
  const metrics = new Metrics();
  const hubFetch = instrumentedFetch(() => Promise.resolve(new Response(null, { status: 503 })), metrics);
  await labelledFetch(hubFetch, { org: "a", service: "dadata" })("https://dadata.example/x");
  await labelledFetch(hubFetch, { org: "b", service: "dadata" })("https://dadata.example/x");
  await labelledFetch(hubFetch, { org: "b", service: "result_webhook" })("https://hooks.example/b");
  assert.equal(metrics.value("shlyuz_external_errors_total", { org: "a", service: "dadata" }), 1);
  assert.equal(metrics.value("shlyuz_external_errors_total", { org: "b", service: "dadata" }), 1);
  assert.equal(
    metrics.value("shlyuz_external_requests_total", { org: "b", service: "result_webhook", status: "5xx" }),
    1,
  );
  const own: typeof fetch = () => Promise.resolve(new Response());
  assert.equal(labelledFetch(own, { org: "a", service: "dadata" }), own);
});
