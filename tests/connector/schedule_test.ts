/**
 * The poll schedule: each organization's own interval (default SLA_INTERVAL,
 * set through the API) decides when its queries go out, exactly once per
 * interval even with two hub processes — and a job dispatched by the process
 * without the socket reaches it through the cross-process channel.
 *
 * The second process is a second connectors service (its own dispatcher,
 * socket server with its own node id and BroadcastChannel, SLA service) on
 * the same KV, as on Deno Deploy where isolates share one KV. Two KV handles
 * on one local file would not do: SQLite refuses commits from two handles at
 * the same instant ("database is locked"), which is why a KV file does not
 * scale out.
 */
import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { createConnector, listenEvents, movableClock, RawClient, secondProcess } from "./_helpers.ts";

const MIN = 60_000;

/** Ticks the organization from both processes at once, twice each, as crons and queued ticks would. */
async function tickEverywhere(t: TestHub, other: Awaited<ReturnType<typeof secondProcess>>): Promise<number[]> {
  const [a, b] = [t.hub.connectors.dispatcher, other.svc.dispatcher];
  const results = await Promise.all([a.tick(t.org), b.tick(t.org), a.tick(t.org), b.tick(t.org)]);
  return results.filter((r): r is number => r !== null);
}

Deno.test("two hub processes poll an organization exactly once per its interval, and a new interval applies from its next slot", async () => {
  const clock = movableClock();
  const a = await startTestHub({ clock, http: false, listen: false, env: { SLA_INTERVAL: "60" } });
  const b = await secondProcess(a);
  try {
    await a.hub.connectors.registry.create(a.org, { name: "Цех" }, SYSTEM_ACTOR);
    const FIVE = 5 * MIN;
    clock.advance(FIVE - (clock.now() % FIVE) + 1000); // one second into a 5-minute (and a 1-minute) slot
    const fiveStart = Math.floor(clock.now() / FIVE);
    for (let i = 0; i < 3; i++) {
      const slot = Math.floor(clock.now() / MIN);
      assert.deepEqual(await tickEverywhere(a, b), [slot], `minute ${i}: one claim between both processes`);
      clock.advance(40_000);
      assert.deepEqual(await tickEverywhere(a, b), [], `minute ${i}: nothing more within the minute`);
      clock.advance(20_000);
    }

    // Minute 3: the organization sets 5 minutes (through one process). This 5-minute slot was polled
    // (minutes 0–2), so nothing until the next one; the other process follows the same setting.
    await a.hub.settings.write(a.org, "sla", { intervalSec: 300 });
    assert.equal(await b.svc.dispatcher.intervalSec(a.org), 300);
    assert.deepEqual(await tickEverywhere(a, b), [], "a new interval does not poll again within its current slot");
    const claims: Array<{ minute: number; slot: number }> = [];
    // Minutes 3 to 22, a minute at a time (the minute cron's pace), both processes each time.
    for (let minute = 3; minute < 23; minute++) {
      for (const slot of await tickEverywhere(a, b)) claims.push({ minute, slot });
      clock.advance(MIN);
    }
    assert.deepEqual(claims, [5, 10, 15, 20].map((minute) => ({ minute, slot: fiveStart + minute / 5 })));

    // Minute 23, back to 1 minute: the minute was not polled yet, so it runs once, at once.
    await a.hub.settings.write(a.org, "sla", { intervalSec: 60 });
    assert.deepEqual(await tickEverywhere(a, b), [Math.floor(clock.now() / MIN)]);
    assert.deepEqual(await tickEverywhere(a, b), []);
  } finally {
    await b.close();
    await a.close();
  }
});

Deno.test("an agent's INTERVAL is shown but does not change the organization's interval", async () => {
  const t = await startTestHub({ env: { SLA_INTERVAL: "300" } });
  try {
    const creds = await createConnector(t);
    const c = new RawClient(t.url);
    await c.auth(creds, { agent: { version: "old-agent", intervalSec: 10 } });
    await c.next("welcome");
    assert.equal((await t.hub.connectors.registry.status(t.org, creds.connectorId)).agentIntervalSec, 10);
    assert.equal(await t.hub.connectors.dispatcher.intervalSec(t.org), 300);
    await c.close();
  } finally {
    await t.close();
  }
});

Deno.test("scheduled polls across two processes: one job per slot and filter reaches the socket wherever it is", async () => {
  const a = await startTestHub({ env: { SLA_INTERVAL: "5" } });
  const b = await secondProcess(a);
  const agent = new RawClient(b.url); // the socket lives in the second process
  try {
    const creds = await createConnector(a);
    await agent.auth(creds);
    await agent.next("welcome");
    const lease = (await a.hub.connectors.registry.liveLeases(a.org)).get(creds.connectorId)!;
    assert.equal(lease.node, b.svc.server.node);

    // A job routed by the process without the socket arrives through the channel.
    const routed = a.hub.connectors.server.route(a.org, creds.connectorId, lease.node, {
      t: "job",
      id: "routed-1",
      action: "tickets.query",
      params: { filter: "arrears" },
      deadline: Date.now() + 60_000,
    });
    assert.equal(routed, "posted");
    assert.equal((await agent.next("job"))?.id, "routed-1");

    const snapshots = await listenEvents(a, ["sla.snapshot"]);
    // Both processes' minute crons fire: one claims the slot; the first process's queue carries the chain.
    const claims = await Promise.all([a.hub.connectors.dispatcher.tick(a.org), b.svc.dispatcher.tick(a.org)]);
    assert.equal(claims.filter((c) => c !== null).length, 1);
    const seen: string[] = [];
    const polls: string[] = [];
    // Two polls, both filters each: four jobs, answered as they come.
    while (seen.length < 4) {
      const job = await agent.next("job");
      assert.ok(job, "the socket stayed open");
      const id = job.id as string;
      seen.push(id);
      const poll = id.split("-")[0];
      if (!polls.includes(poll)) polls.push(poll);
      agent.send({ t: "result", id, ok: true, data: { tickets: [] } });
    }
    assert.equal(polls.length, 2, `two polls: ${seen.join(", ")}`);
    const [first, next] = polls.map((p) => Number(p.split("s")[1]));
    assert.equal(next - first, 1, `consecutive 5-second slots: ${seen.join(", ")}`);
    assert.deepEqual(
      seen.map((id) => id.replace(/^\d+s\d+-/, "")).sort(),
      ["arrears-0", "arrears-0", "stopped-0", "stopped-0"],
      `each slot sends each filter once: ${seen.join(", ")}`,
    );
    for (let i = 0; i < 4; i++) await snapshots.next();
    await snapshots.close();
    const done = await Promise.all(seen.map((id) => a.hub.connectors.dispatcher.job(a.org, id)));
    assert.deepEqual(done.map((j) => j?.state), ["done", "done", "done", "done"], "the results came back through B");
  } finally {
    await agent.close();
    await b.close();
    await a.close();
  }
});
