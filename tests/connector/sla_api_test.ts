/** GET /api/v1/sla/... for BI tools (JSON and CSV), the SLA settings and "poll now" with their roles. */
import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import type { Ticket } from "../../lib/sla/ticket.ts";

const H = 3600_000;

function ticket(id: string, p: Partial<Ticket>): Ticket {
  const now = Date.now();
  return {
    id,
    title: `Заявка ${id}, "срочно"`,
    status: "open",
    priority: null,
    department: "Сеть",
    assignee: null,
    createdAt: new Date(now - 5 * H).toISOString(),
    slaDeadline: new Date(now - 2 * H).toISOString(),
    suspendedSince: null,
    reason: null,
    history: [],
    ...p,
  };
}

Deno.test("SLA API: JSON and CSV of overdue, suspended, departments, trends; viewers read", async () => {
  const t = await startTestHub();
  try {
    const sla = t.hub.connectors.sla;
    await sla.ingest(t.org, "arrears", [
      ticket("A", {}),
      ticket("B", { slaDeadline: new Date(Date.now() - H).toISOString() }),
    ]);
    await sla.ingest(t.org, "stopped", [ticket("S", { suspendedSince: new Date(Date.now() - 3 * H).toISOString() })]);
    const viewer = await t.tokenFor("viewer");
    const overdue = await (await t.api("/api/v1/sla/overdue", { token: viewer })).json();
    assert.deepEqual(overdue.items.map((r: { id: string }) => r.id), ["A", "B"]);
    const csv = await t.api("/api/v1/sla/overdue?format=csv", { token: viewer });
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    const lines = (await csv.text()).trim().split("\r\n");
    assert.equal(lines[0], "id,title,status,priority,department,assignee,slaDeadline,reason,overdueMs,departments");
    assert.match(lines[1], /^A,"Заявка A, ""срочно""",open,,Сеть,,/);
    const byAccept = await t.api("/api/v1/sla/suspended", { token: viewer, headers: { accept: "text/csv" } });
    assert.match((await byAccept.text()).split("\r\n")[1], /^S,/);
    const deps = await (await t.api("/api/v1/sla/departments")).json();
    assert.deepEqual(deps.items.map((d: { department: string; share: number }) => [d.department, d.share]), [[
      "Сеть",
      1,
    ]]);
    const trends = await (await t.api("/api/v1/sla/trends?days=1")).json();
    assert.equal(trends.items.length, 1);
    assert.equal(trends.items[0].arrears, 2);
    assert.equal(trends.items[0].stopped, 1);
    const dash = await (await t.api("/api/v1/sla/dashboard")).json();
    assert.equal(dash.counters.overdue, 2);
    assert.equal(dash.poll.state, "idle");
    const bad = await t.api("/api/v1/sla/trends?days=1000");
    assert.equal(bad.status, 422);
    assert.match((await bad.json()).error.message, /days/);
  } finally {
    await t.close();
  }
});

Deno.test("SLA settings: admins change the interval and filter keys, viewers cannot; poll now needs an operator", async () => {
  const t = await startTestHub({ env: { SLA_INTERVAL: "120", FILTER_ARREARS: "env-arrears" } });
  try {
    const before = await (await t.api("/api/v1/sla/settings")).json();
    assert.deepEqual(before, { intervalSec: 120, filterArrears: "env-arrears", deadlineSec: 60 });
    const put = await t.api("/api/v1/sla/settings", {
      method: "PUT",
      json: { intervalSec: 30, filterStopped: "f-stop" },
    });
    assert.deepEqual(await put.json(), {
      intervalSec: 30,
      filterArrears: "env-arrears",
      filterStopped: "f-stop",
      deadlineSec: 60,
    });
    const invalid = await t.api("/api/v1/sla/settings", { method: "PUT", json: { intervalSec: 1 } });
    assert.equal(invalid.status, 422);
    assert.match((await invalid.json()).error.message, /intervalSec/);
    const words = await t.api("/api/v1/sla/settings", { method: "PUT", json: { intervalSec: "often" } });
    assert.equal(words.status, 422);
    assert.equal(
      (await words.json()).error.message,
      'Invalid request: intervalSec: must be a whole number of seconds (5–86400), or null/"" for SLA_INTERVAL',
    );
    // "" (the page's emptied field) or null gives the environment's default back.
    const cleared = await t.api("/api/v1/sla/settings", {
      method: "PUT",
      json: { intervalSec: "", filterStopped: null },
    });
    assert.deepEqual(await cleared.json(), { intervalSec: 120, filterArrears: "env-arrears", deadlineSec: 60 });
    const viewer = await t.tokenFor("viewer");
    const refused = await t.api("/api/v1/sla/settings", { method: "PUT", json: { intervalSec: 60 }, token: viewer });
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
    const noPoll = await t.api("/api/v1/sla/poll", { method: "POST", token: viewer });
    assert.equal(noPoll.status, 403);
    await noPoll.body?.cancel();
    const operator = await t.tokenFor("operator");
    const poll = await t.api("/api/v1/sla/poll", { method: "POST", token: operator });
    assert.equal(poll.status, 202);
    assert.match((await poll.json()).poll, /^m/);
  } finally {
    await t.close();
  }
});

Deno.test("the poll slot runs once per interval however many times it is ticked", async () => {
  const t = await startTestHub({ env: { SLA_INTERVAL: "3600" } });
  try {
    const res = await t.api("/api/v1/connectors", { method: "POST", json: { name: "Цех" } });
    await res.body?.cancel();
    const d = t.hub.connectors.dispatcher;
    const results = await Promise.all([d.tick(t.org), d.tick(t.org), d.tick(t.org)]);
    assert.equal(results.filter((r) => r !== null).length, 1);
    assert.equal(await d.tick(t.org), null);
  } finally {
    await t.close();
  }
});
