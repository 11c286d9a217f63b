/**
 * A real agent (lib/connector/agent.ts with the HTTP adapter) against the
 * hub over a real WebSocket and the fake ticket system: polls end in
 * snapshots; restarts of either side heal by themselves; two agents share
 * the load; a missed deadline and a dropped socket re-dispatch; refusals on
 * either side are one clear line. The stage (fake, hub, connectors, agents)
 * is `withAgents` in _helpers.ts.
 */
import assert from "node:assert/strict";
import { eventually, startTestHub } from "../helpers/hub.ts";
import { FAKE_USER, startTicketSystemFake } from "../fakes/ticket_system.ts";
import type { TicketAdapter } from "../../lib/connector/adapter.ts";
import { agentFor, type AgentSpec, createConnector, seedTickets, snapshotsOf, withAgents } from "./_helpers.ts";

const HOUR = 3600_000;

Deno.test("a real agent comes online, answers a poll through the fake ticket system and the dashboard has the tickets", async () => {
  await withAgents({}, async ({ t, fake, agents: [{ lines }] }) => {
    const poll = await t.hub.connectors.dispatcher.pollNow(t.org);
    await snapshotsOf(t, poll);
    const d = await t.hub.connectors.sla.dashboard(t.org);
    assert.deepEqual(d.overdue.map((r) => r.id), ["T-1", "T-2"]);
    assert.equal(d.overdue[0].assignee, "Иванов");
    assert.deepEqual(d.overdue[0].departments.map((x) => x.department), ["Первая линия", "Сеть"]);
    assert.deepEqual(d.suspended.map((r) => r.id), ["T-4"]);
    assert.equal(d.counters.overdue, 2);
    assert.equal(d.counters.suspended, 1);
    const breached = await t.hub.events.recent(t.org, { types: ["sla.breached"] });
    assert.deepEqual(breached.map((e) => e.data.ticketId).sort(), ["T-1", "T-2"]);
    assert.equal((await t.hub.events.recent(t.org, { types: ["sla.suspended"] })).length, 1);
    const status = (await (await t.api("/api/v1/connectors")).json()).items[0].status;
    assert.equal(status.state, "online");
    assert.equal(status.lastJob.outcome, "ok");
    assert.equal(fake.state.logins, 1, "one login serves both queries (the session is kept)");
    assert.ok(lines.some((l) => l.startsWith("connected to ws://")));
  });
});

Deno.test("sla.breached fires once per ticket and breach across repeated polls; a recovered ticket fires sla.recovered", async () => {
  await withAgents({}, async ({ t, fake }) => {
    const svc = t.hub.connectors;
    await snapshotsOf(t, await svc.dispatcher.pollNow(t.org));
    await snapshotsOf(t, await svc.dispatcher.pollNow(t.org));
    const count = async (type: string) => (await t.hub.events.recent(t.org, { types: [type] })).length;
    assert.equal(await count("sla.breached"), 2);
    // T-3 crosses its deadline in the fake; T-2 gets closed.
    fake.advance(6 * HOUR);
    fake.close("T-2");
    await snapshotsOf(t, await svc.dispatcher.pollNow(t.org));
    const breached = await t.hub.events.recent(t.org, { types: ["sla.breached"] });
    assert.deepEqual(breached.map((e) => e.data.ticketId).sort(), ["T-1", "T-2", "T-3"]);
    const recovered = await t.hub.events.recent(t.org, { types: ["sla.recovered"] });
    assert.deepEqual(recovered.map((e) => e.data.ticketId), ["T-2"]);
    await snapshotsOf(t, await svc.dispatcher.pollNow(t.org));
    assert.equal(await count("sla.breached"), 3);
  });
});

Deno.test("the adapter logs in again when the ticket system's session expired", async () => {
  await withAgents({}, async ({ t, fake }) => {
    const svc = t.hub.connectors;
    await snapshotsOf(t, await svc.dispatcher.pollNow(t.org));
    fake.expireSessions();
    await snapshotsOf(t, await svc.dispatcher.pollNow(t.org));
    assert.equal(fake.state.expiredSessions, 1);
    assert.equal(fake.state.logins, 2);
  });
});

Deno.test("the ticket system refusing the login is one clear line on the agent and a failed job on the hub", async () => {
  const fake = { users: [{ email: FAKE_USER.email, password: "another" }] };
  await withAgents({ fake, seed: false }, async ({ t, agents: [{ lines, creds }] }) => {
    await t.hub.connectors.dispatcher.pollNow(t.org);
    await eventually(async () => (await t.hub.events.recent(t.org, { types: ["connector.job.failed"] })).length >= 2);
    const failed = await t.hub.events.recent(t.org, { types: ["connector.job.failed"] });
    assert.equal(failed[0].data.code, "ticket_auth");
    assert.equal(failed[0].data.error, "ticket system refused the login for agent@ttm.local: check EMAIL and PASSWORD");
    assert.equal(lines.filter((l) => l.includes("ticket system refused the login")).length, 1);
    const status = (await (await t.api(`/api/v1/connectors/${creds.connectorId}`)).json()).status;
    assert.equal(status.lastJob.outcome, "failed");
  });
});

Deno.test("the hub refusing the agent's key is one line, however often the agent retries", async () => {
  const wrongKey: AgentSpec = { creds: (c) => ({ ...c, key: "wrong" }), noTicketSystem: true, online: false };
  await withAgents({ agents: [wrongKey], seed: false }, async ({ t, agents: [{ lines }] }) => {
    // Refusals are recorded once a minute per connector: count the agent's retries on the metric.
    await eventually(() => t.hub.metrics.value("shlyuz_connector_refused_total", { reason: "bad_key" }) >= 3);
    assert.deepEqual(lines, ["hub refused the connector: wrong id, token or key"]);
    assert.equal((await t.hub.events.recent(t.org, { types: ["connector.auth_failed"] })).length, 1);
  });
});

Deno.test("agent restart and hub restart: the agent reconnects by itself and polls work again", async () => {
  // Its own stage: the hub restarts on the same port and KV file in the middle.
  const fake = await startTicketSystemFake();
  const dir = await Deno.makeTempDir();
  const env = { SHLYUZ_KV_PATH: `${dir}/hub.kv` };
  let t = await startTestHub({ env });
  const port = Number(new URL(t.url).port);
  const creds = await createConnector(t);
  let a = agentFor(t, creds, fake);
  try {
    seedTickets(fake);
    a.agent.start();
    await a.agent.waitFor((x) => x.state === "online");
    // Agent restart.
    await a.agent.stop();
    await eventually(async () => (await t.hub.events.recent(t.org, { types: ["connector.offline"] })).length === 1);
    a = agentFor(t, creds, fake);
    a.agent.start();
    await a.agent.waitFor((x) => x.state === "online");
    // Hub restart on the same port and KV: the agent was told 1001 and dials again.
    await t.close();
    await a.agent.waitFor((x) => x.state !== "online");
    t = await startTestHub({ env, port });
    await a.agent.waitFor((x) => x.state === "online" && x.connections === 2);
    await snapshotsOf(t, await t.hub.connectors.dispatcher.pollNow(t.org));
    assert.ok(a.lines.some((l) => l.includes("1001")), a.lines.join("\n"));
  } finally {
    await a.agent.stop();
    await t.close();
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two agents share the load: each poll's two queries go to different connectors", async () => {
  await withAgents({ agents: [{ name: "Цех 1" }, { name: "Цех 2" }] }, async ({ t }) => {
    const jobs = await snapshotsOf(t, await t.hub.connectors.dispatcher.pollNow(t.org));
    assert.equal(new Set(jobs.map((j) => j.connectorId)).size, 2);
  });
});

Deno.test("a missed deadline re-dispatches the query to the other connector; a dropped socket does at once", async () => {
  const hanging: TicketAdapter = {
    query: ({ signal }) => new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason))),
  };
  await withAgents({
    hub: { env: { SLA_DEADLINE_SEC: "1" } },
    agents: [{ name: "Зависший", options: { adapter: hanging } }, { name: "Исправный" }],
  }, async ({ t, agents: [slow] }) => {
    const svc = t.hub.connectors;
    const jobs = await snapshotsOf(t, await svc.dispatcher.pollNow(t.org));
    assert.ok(jobs.some((j) => j.attempt === 1), "one query needed a second attempt");
    const failed = await t.hub.events.recent(t.org, { types: ["connector.job.failed"] });
    assert.equal(failed[0].data.connectorId, slow.creds.connectorId);
    assert.equal(failed[0].data.error, "no answer before the deadline");
    assert.equal(failed[0].data.willRetry, true);

    // The hanging agent drops its socket with a job in flight: re-dispatched without waiting for the deadline.
    const poll = await svc.dispatcher.pollNow(t.org);
    await eventually(() => svc.server.pendingOf(slow.creds.connectorId) === 1);
    await slow.agent.stop();
    await snapshotsOf(t, poll);
    const dropped = await t.hub.events.recent(t.org, { types: ["connector.job.failed"] });
    assert.equal(dropped[0].data.error, "the connector disconnected");
  });
});

Deno.test("no connector online: the poll says so with connector.offline (connectorId null) and the poll state", async () => {
  const t = await startTestHub();
  try {
    await createConnector(t);
    const svc = t.hub.connectors;
    await svc.dispatcher.pollNow(t.org);
    await eventually(async () => (await svc.dispatcher.pollState(t.org)).state === "no_connector");
    const offline = await t.hub.events.recent(t.org, { types: ["connector.offline"] });
    assert.equal(offline.length, 1, "announced once, not once per query");
    assert.equal(offline[0].data.connectorId, null);
    assert.equal(offline[0].data.reason, "no connector online");
  } finally {
    await t.close();
  }
});
