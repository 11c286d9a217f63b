/**
 * Limits of agent sockets beyond one socket: the refused-handshake ceilings
 * hold across hub processes sharing one KV (as isolates share Deno Deploy's),
 * and one remote address may hold only so many sockets — in their handshake
 * and overall — refused with 429 before the upgrade (4031 / 4030 for a socket
 * handed to the server directly), with room again once one goes.
 */
import assert from "node:assert/strict";
import { eventually, type TestHub } from "../helpers/hub.ts";
import { CLOSE } from "../../lib/connector/protocol.ts";
import {
  agentFor,
  authFrame,
  createConnector,
  type Creds,
  RawClient,
  secondProcess,
  withConnectorHub,
} from "./_helpers.ts";

/** Opens a socket, answers its challenge with `creds` and returns how the hub closed it. */
async function handshake(url: string, creds: Creds): Promise<{ code: number; reason: string }> {
  const c = new RawClient(url);
  await c.auth(creds);
  return await c.closed;
}

/** A WebSocket upgrade request as plain HTTP: what a refused one is answered. */
async function refusedUpgrade(t: TestHub, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/connectors/ws`, { headers: { upgrade: "websocket", ...headers } });
  return { status: res.status, body: await res.json() };
}

Deno.test("refused handshakes are counted in KV: two hub processes on one KV share the ceiling of an id from an address", async () => {
  const throttle = { maxPerPair: 4 };
  await withConnectorHub(async (t, creds) => {
    const other = await secondProcess(t, { throttle });
    try {
      const wrong = { ...creds, key: "not-the-key" };
      for (const url of [t.url, other.url, t.url, other.url]) {
        assert.deepEqual(await handshake(url, wrong), CLOSE.badCredentials);
      }
      // Two refusals in each process: counted per process, both would still let the right key in.
      assert.deepEqual(await handshake(t.url, creds), CLOSE.throttled);
      assert.deepEqual(await handshake(other.url, creds), CLOSE.throttled);
    } finally {
      await other.close();
    }
  }, { options: { connectors: { throttle } } });
});

Deno.test("one address may have CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS sockets in their handshake: the next gets 429, until one is done", async () => {
  await withConnectorHub(async (t, creds) => {
    const server = t.hub.connectors.server;
    const [a, b] = [new RawClient(t.url), new RawClient(t.url)];
    const [challenge] = await Promise.all([a.next("challenge"), b.next("challenge")]);
    assert.deepEqual(await refusedUpgrade(t), {
      status: 429,
      body: {
        error: {
          code: "too_many_requests",
          message:
            "Cannot open a connector socket: this address already has 2 in their handshake (CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS)",
        },
      },
    });
    assert.equal(t.hub.metrics.value("shlyuz_connector_refused_total", { reason: "address_handshakes" }), 1);
    // One authenticates: it no longer counts as a handshake, so another socket may start one.
    a.send(authFrame(creds, challenge!.nonce as string));
    assert.ok(await a.next("welcome"));
    const c = new RawClient(t.url);
    assert.ok(await c.next("challenge"));
    assert.equal((await refusedUpgrade(t)).status, 429, "b and c: full again");
    // One that gives up makes room too.
    await b.close();
    await eventually(() => server.openFrom("127.0.0.1").handshaking === 1);
    const d = new RawClient(t.url);
    assert.ok(await d.next("challenge"));
    assert.deepEqual(server.openFrom("127.0.0.1"), { open: 3, handshaking: 2 });
    await Promise.all([a.close(), c.close(), d.close()]);
    await eventually(() => server.openFrom("127.0.0.1").open === 0);
  }, { env: { CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS: "2" } });
});

Deno.test("one address may hold CONNECTOR_MAX_SOCKETS_PER_ADDRESS sockets: the next gets 429 (the agent prints it), and one closing admits it", async () => {
  await withConnectorHub(async (t, creds) => {
    const online = [new RawClient(t.url), new RawClient(t.url)];
    await online[0].auth(creds);
    await online[1].auth(await createConnector(t, "Цех 2"));
    await Promise.all(online.map((c) => c.next("welcome")));
    assert.deepEqual(await refusedUpgrade(t), {
      status: 429,
      body: {
        error: {
          code: "too_many_requests",
          message:
            "Cannot open a connector socket: this address already has 2 open (CONNECTOR_MAX_SOCKETS_PER_ADDRESS)",
        },
      },
    });
    const third = agentFor(t, await createConnector(t, "Цех 3"), null);
    third.agent.start();
    try {
      await eventually(() => third.lines.some((l) => /Invalid status code: 429/.test(l)));
      assert.equal(third.agent.connections, 0);
      await online[0].close();
      await eventually(() => third.agent.state === "online"); // bounded: a leaked count would hang here
    } finally {
      await third.agent.stop();
      await online[1].close();
    }
    assert.ok(t.hub.metrics.value("shlyuz_connector_refused_total", { reason: "address_sockets" })! >= 2);
  }, { env: { CONNECTOR_MAX_SOCKETS_PER_ADDRESS: "2" } });
});

Deno.test("a socket handed to the server over its address's caps is closed with 4031 (handshakes) or 4030 (sockets)", async () => {
  await withConnectorHub(async (t, creds) => {
    const other = await secondProcess(t, { limits: { maxHandshakesPerAddress: 1, maxSocketsPerAddress: 2 } });
    try {
      const a = new RawClient(other.url);
      const challenge = await a.next("challenge");
      const refused = new RawClient(other.url);
      assert.deepEqual(await refused.closed, CLOSE.addressHandshakes);
      assert.equal(refused.frames.length, 0, "no challenge for it");
      a.send(authFrame(creds, challenge!.nonce as string));
      assert.ok(await a.next("welcome"));
      const b = new RawClient(other.url);
      assert.ok(await b.next("challenge"));
      const over = new RawClient(other.url);
      assert.deepEqual(await over.closed, CLOSE.addressSockets);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await other.close();
    }
  });
});

Deno.test("behind a trusted proxy the caps count the forwarded client address, not the proxy's", async () => {
  await withConnectorHub(async (t) => {
    const from = (ip: string) => new RawClient(t.url, { headers: { "x-forwarded-for": ip } });
    const a = from("203.0.113.5");
    const b = from("203.0.113.6");
    assert.ok(await a.next("challenge"));
    assert.ok(await b.next("challenge"), "another client behind the same proxy");
    assert.equal((await refusedUpgrade(t, { "x-forwarded-for": "203.0.113.5" })).status, 429);
    assert.deepEqual(t.hub.connectors.server.openFrom("203.0.113.5"), { open: 1, handshaking: 1 });
    await Promise.all([a.close(), b.close()]);
  }, { env: { SHLYUZ_TRUSTED_PROXIES: "127.0.0.1", CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS: "1" } });
});

Deno.test("the caps count an IPv6 client by its /64, and an IPv4-mapped one as its IPv4", async () => {
  await withConnectorHub(async (t) => {
    const from = (ip: string) => new RawClient(t.url, { headers: { "x-forwarded-for": ip } });
    const a = from("2001:db8:1:2::5");
    assert.ok(await a.next("challenge"));
    assert.equal((await refusedUpgrade(t, { "x-forwarded-for": "2001:db8:1:2:9::6" })).status, 429, "same /64");
    const b = from("2001:db8:1:3::5");
    assert.ok(await b.next("challenge"), "the next /64 is another address");
    const c = from("::ffff:203.0.113.5");
    assert.ok(await c.next("challenge"));
    assert.equal((await refusedUpgrade(t, { "x-forwarded-for": "203.0.113.5" })).status, 429, "the same IPv4");
    assert.deepEqual(t.hub.connectors.server.openFrom("2001:db8:1:2:ffff::1"), { open: 1, handshaking: 1 });
    await Promise.all([a.close(), b.close(), c.close()]);
  }, { env: { SHLYUZ_TRUSTED_PROXIES: "127.0.0.1", CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS: "1" } });
});
