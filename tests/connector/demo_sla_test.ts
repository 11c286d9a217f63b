/**
 * The Connectors & SLA part of `deno task demo` (tests/fakes/demo_sla.ts)
 * against a test hub: its connector comes online and its polls fill the
 * dashboard with overdue and suspended tickets in several departments — what a
 * newcomer sees on /admin/connectors.
 */
import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { startSlaDemo } from "../fakes/demo_sla.ts";
import { listenEvents } from "./_helpers.ts";

Deno.test("the demo's ticket system and agent bring a connector online and fill the SLA dashboard", async () => {
  const t = await startTestHub();
  const events = await listenEvents(t, ["connector.online", "sla.snapshot"]);
  const refused: string[] = [];
  const call = async (base: string, path: string, body?: unknown, method = body === undefined ? "GET" : "POST") => {
    const res = await t.api(path, { method, json: body });
    const text = await res.text();
    if (res.status >= 400) refused.push(`${method} ${path} → ${res.status} ${text}`);
    assert.equal(base, t.url);
    return text;
  };
  const demo = await startSlaDemo(t.url, call);
  try {
    await events.next((e) => e.type === "connector.online");
    // Setting the demo's interval starts a poll at once: both filters come back.
    const filters = new Set<unknown>();
    while (filters.size < 2) filters.add((await events.next((e) => e.type === "sla.snapshot")).data.filter);
    assert.deepEqual(refused, []);
    const d = await t.hub.connectors.sla.dashboard(t.org);
    assert.ok(d.counters.overdue >= 5, `overdue tickets: ${d.counters.overdue}`);
    assert.equal(d.counters.suspended, 2);
    assert.ok(d.departments.length >= 2, `departments ranked: ${d.departments.map((x) => x.department)}`);
    assert.equal((await t.hub.connectors.dispatcher.settings(t.org)).intervalSec, 15);
    const [connector] = await t.hub.connectors.registry.list(t.org);
    assert.equal(connector.status.state, "online");
  } finally {
    await events.close();
    await demo.stop();
    await t.close();
  }
});
