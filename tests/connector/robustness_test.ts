/**
 * The connector path under faults and races: a result the hub cannot store,
 * a replaced socket's heartbeat in another process, a second auth frame sent
 * during the handshake, and floods of refused handshakes.
 */
import assert from "node:assert/strict";
import { eventually, type TestHub } from "../helpers/hub.ts";
import { CLOSE } from "../../lib/connector/protocol.ts";
import { HANDSHAKE_THROTTLE_PREFIX } from "../../lib/connector/handshake_throttle.ts";
import type { LiveLease } from "../../lib/connector/registry.ts";
import { createConnectors } from "../../lib/connector/mod.ts";
import type { CoreHub } from "../../lib/hub.ts";
import { authFrame, type Creds, movableClock, RawClient, withConnectorHub } from "./_helpers.ts";

/** Answers the hub's pings so the raw client's socket is not closed as silent. */
function answerPings(c: RawClient): () => void {
  const timer = setInterval(() => {
    if (c.ws.readyState === WebSocket.OPEN) c.send({ t: "pong", at: 0 });
  }, 50);
  return () => clearInterval(timer);
}

Deno.test("a result the hub cannot store leaves the job retryable and the socket open; the retry stores it", async () => {
  await withConnectorHub(async (t, creds) => {
    const { dispatcher, sla } = t.hub.connectors;
    // The KV failing under the snapshot (a commit refused, a large snapshot cut short).
    const save = sla.store.saveSnapshot.bind(sla.store);
    let failures = 1;
    sla.store.saveSnapshot = (...args) => {
      if (failures-- > 0) return Promise.reject(new Error("KV commit failed"));
      return save(...args);
    };
    const c = new RawClient(t.url);
    await c.auth(creds);
    await c.next("welcome");
    const poll = await dispatcher.pollNow(t.org);
    const [job] = [await c.next("job"), await c.next("job")]; // the poll's two queries
    const id = job!.id as string;
    c.send({ t: "result", id, ok: true, data: { tickets: [] } });
    const failed = await eventually(async () => {
      const j = await dispatcher.job(t.org, id);
      return j?.state !== "pending" ? j : null;
    });
    assert.equal(failed?.state, "failed", "not done: its tickets were not stored");
    assert.equal(failed?.error, "the hub could not store the result");
    // The hub's own failure: the same (only) connector is asked again at once, on the same socket.
    const retry = await c.next("job");
    assert.equal(retry?.id, id.replace(/-0$/, "-1"));
    assert.match(id, new RegExp(`^${poll}-`));
    c.send({ t: "result", id: retry!.id, ok: true, data: { tickets: [] } });
    await eventually(async () => (await dispatcher.job(t.org, retry!.id as string))?.state === "done");
    const filter = (failed!.filter) as "arrears" | "stopped";
    assert.equal((await sla.store.snapshotMeta(t.org, filter))?.jobId, retry!.id);
    c.send({ t: "ping", at: 5 });
    assert.deepEqual(await c.next("pong"), { t: "pong", at: 5 }, "the socket stays open");
    await c.close();
  });
});

Deno.test("a hub error after a result is stored does not close the agent's socket", async () => {
  await withConnectorHub(async (t, creds) => {
    const { dispatcher, registry } = t.hub.connectors;
    const c = new RawClient(t.url);
    await c.auth(creds);
    await c.next("welcome");
    await dispatcher.pollNow(t.org);
    const id = (await c.next("job"))!.id as string;
    registry.setStatus = () => Promise.reject(new Error("KV commit failed")); // the bookkeeping after "done"
    c.send({ t: "result", id, ok: true, data: { tickets: [] } });
    await eventually(async () => (await dispatcher.job(t.org, id))?.state === "done");
    await eventually(() => t.hub.metrics.value("shlyuz_connector_results_failed_total") === 1);
    c.send({ t: "ping", at: 8 });
    assert.deepEqual(await c.next("pong"), { t: "pong", at: 8 }, "the socket stays open");
    await c.close();
  });
});

Deno.test("a replaced socket's heartbeat in another process does not take the lease back, and no offline is published", async () => {
  await withConnectorHub(async (t, creds) => {
    // A second process on the same KV whose kick to the first socket is lost (no shared channel).
    const other = await createConnectors(t.hub as unknown as CoreHub, { channel: null, limits: { heartbeatMs: 100 } });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      other.server.accept(socket, { remoteAddress: "127.0.0.1" });
      return response;
    });
    const stops: Array<() => void> = [];
    try {
      const first = new RawClient(t.url);
      stops.push(answerPings(first));
      await first.auth(creds);
      await first.next("welcome");
      const second = new RawClient(`http://127.0.0.1:${server.addr.port}`);
      stops.push(answerPings(second));
      await second.auth(creds);
      await second.next("welcome");
      const key = ["connector_live", t.org, creds.connectorId];
      const taken = (await t.hub.kv.get<LiveLease>(key)).value;
      assert.equal(taken?.node, other.server.node);
      // The first socket's next heartbeat finds the lease taken: it gives way instead of overwriting it.
      await eventually(async () =>
        first.ws.readyState === WebSocket.CLOSED ||
        (await t.hub.kv.get<LiveLease>(key)).value?.session !== taken?.session
      );
      assert.equal(first.ws.readyState, WebSocket.CLOSED, "the replaced socket gave way");
      assert.deepEqual(await first.closed, CLOSE.replaced);
      const after = (await t.hub.kv.get<LiveLease>(key)).value;
      assert.equal(after?.session, taken?.session, "the lease stays the new socket's");
      assert.equal((await t.hub.events.recent(t.org, { types: ["connector.offline"] })).length, 0);
      const one = await (await t.api(`/api/v1/connectors/${creds.connectorId}`)).json();
      assert.equal(one.status.state, "online");
      await second.close();
    } finally {
      for (const stop of stops) stop();
      await other.server.close();
      await server.shutdown();
    }
  }, { env: { CONNECTOR_HEARTBEAT_MS: "100" } });
});

Deno.test("a second auth frame while the handshake is pending closes the socket: one handshake, no online", async () => {
  await withConnectorHub(async (t, creds) => {
    // A slow handshake (KV under load): the second frame surely arrives while the first is being checked.
    const { registry } = t.hub.connectors;
    const orgOf = registry.orgOf.bind(registry);
    let slow: Promise<string | null> = Promise.resolve(null);
    registry.orgOf = (id) => slow = new Promise((r) => setTimeout(r, 200)).then(() => orgOf(id));
    const c = new RawClient(t.url);
    const challenge = await c.next("challenge");
    const frame = authFrame(creds, challenge!.nonce as string);
    c.send(frame);
    c.send(frame);
    await eventually(() => c.ws.readyState === WebSocket.CLOSED || c.frames.some((f) => f.t === "welcome"));
    assert.equal(c.ws.readyState, WebSocket.CLOSED, "closed, not welcomed");
    const closed = await c.closed;
    assert.deepEqual(closed, { code: CLOSE.malformed.code, reason: "malformed frame: the handshake is still pending" });
    assert.equal(c.frames.filter((f) => f.t === "welcome").length, 0);
    await eventually(() => t.hub.connectors.server.connectedCount === 0);
    assert.equal((await t.hub.events.recent(t.org, { types: ["connector.online"] })).length, 0);
    await slow;
    assert.equal((await t.hub.kv.get(["connector_live", t.org, creds.connectorId])).versionstamp, null);
  });
});

Deno.test("an agent gone while its handshake is being recorded leaves no lease, no heartbeat and no online", async () => {
  await withConnectorHub(async (t, creds) => {
    // Slow status writes (KV under load): the agent hangs up after the check, before the lease is taken.
    const { registry } = t.hub.connectors;
    const setStatus = registry.setStatus.bind(registry);
    let slow: Promise<void> = Promise.resolve();
    registry.setStatus = (...args) => slow = new Promise((r) => setTimeout(r, 200)).then(() => setStatus(...args));
    const c = new RawClient(t.url);
    await c.auth(creds);
    await eventually(() => t.hub.connectors.server.connectedCount === 1); // checked, now recording
    await c.close();
    await slow;
    await eventually(() => t.hub.connectors.server.connectedCount === 0);
    await eventually(async () =>
      (await t.hub.kv.get(["connector_live", t.org, creds.connectorId])).versionstamp === null
    );
    assert.equal((await t.hub.events.recent(t.org, { types: ["connector.online"] })).length, 0);
  });
});

async function auditedRefusals(t: TestHub): Promise<number> {
  let n = 0;
  for await (const e of t.hub.kv.list<{ action: string }>({ prefix: ["audit", t.org] })) {
    if (e.value.action === "connector.auth_failed") n++;
  }
  return n;
}

/** Opens a socket, answers its challenge with `creds` and returns how the hub closed it. */
async function handshake(t: TestHub, creds: Creds): Promise<{ code: number; reason: string }> {
  const c = new RawClient(t.url);
  await c.auth(creds);
  return await c.closed;
}

Deno.test("refused handshakes write once a minute per connector, and an id failing from one address is refused unchecked", async () => {
  const clock = movableClock();
  await withConnectorHub(async (t, creds) => {
    const wrong = { ...creds, key: "not-the-key" };
    for (let i = 0; i < 10; i++) assert.deepEqual(await handshake(t, wrong), CLOSE.badCredentials, `attempt ${i}`);
    assert.equal(await auditedRefusals(t), 1, "one audit row for ten refusals within a minute");
    assert.equal((await t.hub.events.recent(t.org, { types: ["connector.auth_failed"] })).length, 1);
    // The pair is at its ceiling: refused before any check, even with the right key.
    assert.deepEqual(await handshake(t, creds), CLOSE.throttled);
    assert.equal(t.hub.metrics.value("shlyuz_connector_refused_total", { reason: "throttled" }), 1);
    // A quarter of an hour later the pair may try again, and the next refusal is recorded again.
    clock.advance(15 * 60_000 + 1000);
    assert.deepEqual(await handshake(t, wrong), CLOSE.badCredentials);
    assert.equal(await auditedRefusals(t), 2);
    const c = new RawClient(t.url);
    await c.auth(creds);
    assert.ok(await c.next("welcome"), "the right key gets in once the pair is below its ceiling");
    await c.close();
  }, { clock });
});

Deno.test("an address failing with many connector ids is refused before any check; guessed ids write only its counter", async () => {
  await withConnectorHub(async (t, creds) => {
    for (let i = 0; i < 8; i++) {
      assert.deepEqual(await handshake(t, { ...creds, connectorId: `con_unknown${i}` }), CLOSE.badCredentials);
    }
    const keys = await Array.fromAsync(t.hub.kv.list({ prefix: [HANDSHAKE_THROTTLE_PREFIX] }));
    assert.deepEqual(keys.map((e) => e.key.slice(2)), [["address", "127.0.0.1"]], "no key per guessed id");
    assert.deepEqual(await handshake(t, creds), CLOSE.throttled);
  }, { options: { connectors: { throttle: { maxPerAddress: 8 } } } });
});

Deno.test("unauthenticated sockets are bounded: over the limit a socket is closed at once with 1013", async () => {
  await withConnectorHub(async (t, creds) => {
    const [a, b] = [new RawClient(t.url), new RawClient(t.url)];
    const [challenge] = await Promise.all([a.next("challenge"), b.next("challenge")]);
    const over = new RawClient(t.url);
    assert.deepEqual(await over.closed, CLOSE.busy);
    assert.equal(over.frames.length, 0, "no challenge for it");
    // One of the two authenticates: room for another handshake.
    a.send(authFrame(creds, challenge!.nonce as string));
    assert.ok(await a.next("welcome"));
    const next = new RawClient(t.url);
    assert.ok(await next.next("challenge"));
    await Promise.all([a.close(), b.close(), next.close()]);
  }, { options: { connectors: { limits: { maxHandshakes: 2 } } } });
});
