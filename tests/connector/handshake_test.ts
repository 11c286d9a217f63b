/**
 * The hub's side of the protocol over a real WebSocket: the handshake and
 * each way it is refused (audited, with the close code the agent prints),
 * and the bounds that close one socket without touching the others.
 */
import assert from "node:assert/strict";
import { eventually, type TestHub } from "../helpers/hub.ts";
import { CLOSE } from "../../lib/connector/protocol.ts";
import { authFrame, createConnector, movableClock, RawClient, withConnectorHub } from "./_helpers.ts";

async function auditActions(t: TestHub): Promise<Array<{ action: string; details?: Record<string, unknown> }>> {
  const out = [];
  for await (
    const e of t.hub.kv.list<{ action: string; details?: Record<string, unknown> }>({ prefix: ["audit", t.org] })
  ) {
    out.push(e.value);
  }
  return out;
}

Deno.test("handshake: the right id, token and key get a welcome, the status turns online and connector.online fires", async () => {
  await withConnectorHub(async (t, creds) => {
    const c = new RawClient(t.url);
    await c.auth(creds);
    const welcome = await c.next("welcome");
    assert.equal(welcome?.connectorId, creds.connectorId);
    const one = await (await t.api(`/api/v1/connectors/${creds.connectorId}`)).json();
    assert.equal(one.status.state, "online");
    assert.equal(one.status.version, "test-1");
    assert.equal(one.status.remoteAddress, "127.0.0.1");
    assert.ok(one.status.connectedSince);
    const online = await t.hub.events.recent(t.org, { types: ["connector.online"] });
    assert.equal(online.length, 1);
    assert.equal(online[0].data.connectorId, creds.connectorId);
    // Heartbeats both ways: the hub answers the agent's ping.
    c.send({ t: "ping", at: 42 });
    assert.deepEqual(await c.next("pong"), { t: "pong", at: 42 });
    await c.close();
    await eventually(async () => (await t.hub.events.recent(t.org, { types: ["connector.offline"] })).length === 1);
    const after = await (await t.api(`/api/v1/connectors/${creds.connectorId}`)).json();
    assert.equal(after.status.state, "offline");
  });
});

Deno.test("handshake: a wrong key is refused with 4001, audited and published as connector.auth_failed", async () => {
  await withConnectorHub(async (t, creds) => {
    const c = new RawClient(t.url);
    await c.auth({ ...creds, key: "not-the-key" });
    assert.deepEqual(await c.closed, CLOSE.badCredentials);
    const failed = await t.hub.events.recent(t.org, { types: ["connector.auth_failed"] });
    assert.equal(failed[0]?.data.reason, "bad_key");
    const audit = (await auditActions(t)).filter((a) => a.action === "connector.auth_failed");
    assert.equal(audit.length, 1);
    assert.equal(audit[0].details?.reason, "bad_key");
    const one = await (await t.api(`/api/v1/connectors/${creds.connectorId}`)).json();
    assert.equal(one.status.state, "offline");
    assert.match(one.status.lastError, /wrong id, token or key/);
  });
});

Deno.test("handshake: a wrong token and an unknown id are refused with 4001", async () => {
  await withConnectorHub(async (t, creds) => {
    const c = new RawClient(t.url);
    await c.auth({ ...creds, token: "sct_wrong" });
    assert.deepEqual(await c.closed, CLOSE.badCredentials);
    const u = new RawClient(t.url);
    await u.auth({ ...creds, connectorId: "con_unknown" });
    assert.deepEqual(await u.closed, CLOSE.badCredentials);
    const failed = await t.hub.events.recent(t.org, { types: ["connector.auth_failed"] });
    assert.deepEqual(failed.map((e) => e.data.reason), ["bad_token"]);
  });
});

Deno.test("handshake: a revoked connector is refused with 4004; revoking closes its live socket", async () => {
  await withConnectorHub(async (t, creds) => {
    const live = new RawClient(t.url);
    await live.auth(creds);
    await live.next("welcome");
    const res = await t.api(`/api/v1/connectors/${creds.connectorId}/revoke`, { method: "POST" });
    assert.equal(res.status, 200);
    assert.ok((await res.json()).revokedAt);
    assert.deepEqual(await live.closed, CLOSE.revoked);
    const again = new RawClient(t.url);
    await again.auth(creds);
    assert.deepEqual(await again.closed, CLOSE.revoked);
    const rotate = await t.api(`/api/v1/connectors/${creds.connectorId}/rotate`, { method: "POST" });
    assert.equal(rotate.status, 409);
    await rotate.body?.cancel();
  });
});

Deno.test("handshake: rotating gives new credentials; the old ones are refused", async () => {
  await withConnectorHub(async (t, creds) => {
    const res = await t.api(`/api/v1/connectors/${creds.connectorId}/rotate`, { method: "POST" });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.notEqual(body.credentials.token, creds.token);
    assert.match(body.env.SERVER, /^ws:\/\/127\.0\.0\.1:\d+\/connectors\/ws$/);
    const old = new RawClient(t.url);
    await old.auth(creds);
    assert.deepEqual(await old.closed, CLOSE.badCredentials);
    const fresh = new RawClient(t.url);
    await fresh.auth(body.credentials);
    assert.ok(await fresh.next("welcome"));
    await fresh.close();
  });
});

Deno.test("handshake: an answer captured from another connection (replay) is refused with 4003", async () => {
  await withConnectorHub(async (t, creds) => {
    const a = new RawClient(t.url);
    const captured = await a.auth(creds);
    await a.next("welcome");
    await a.close();
    const b = new RawClient(t.url);
    await b.next("challenge");
    b.send(captured); // the old nonce with its valid MAC
    assert.deepEqual(await b.closed, CLOSE.replayed);
    const failed = await t.hub.events.recent(t.org, { types: ["connector.auth_failed"] });
    assert.equal(failed[0]?.data.reason, "replayed");
  });
});

Deno.test("handshake: an answer after the challenge expired is refused with 4002", async () => {
  const clock = movableClock();
  await withConnectorHub(async (t, creds) => {
    const c = new RawClient(t.url);
    const challenge = await c.next("challenge");
    clock.advance(11_000); // past CHALLENGE_TTL_MS
    c.send(authFrame(creds, challenge!.nonce as string));
    assert.deepEqual(await c.closed, CLOSE.challengeExpired);
    const audit = (await auditActions(t)).filter((a) => a.action === "connector.auth_failed");
    assert.equal(audit[0]?.details?.reason, "expired");
  }, { clock });
});

Deno.test("bounds: a malformed frame closes that socket only (4400 with the field); an oversized one gets 1009", async () => {
  await withConnectorHub(async (t, creds) => {
    const other = await createConnector(t, "Цех 2");
    const good = new RawClient(t.url);
    await good.auth(other);
    await good.next("welcome");

    const bad = new RawClient(t.url);
    await bad.auth(creds);
    await bad.next("welcome");
    bad.send({ t: "result", id: "", ok: "yes" });
    const closed = await bad.closed;
    assert.equal(closed.code, CLOSE.malformed.code);
    assert.match(closed.reason, /^malformed frame: (id|ok): /);

    const notJson = new RawClient(t.url);
    await notJson.next("challenge");
    notJson.send("{nope");
    assert.deepEqual(await notJson.closed, { code: 4400, reason: "malformed frame: not JSON" });

    const big = new RawClient(t.url);
    await big.next("challenge");
    big.send(JSON.stringify({ t: "ping", at: 1, pad: "x".repeat(1024 * 1024) }));
    assert.equal((await big.closed).code, 1009);

    // The other connector did not notice.
    good.send({ t: "ping", at: 7 });
    assert.deepEqual(await good.next("pong"), { t: "pong", at: 7 });
    await good.close();
  });
});

Deno.test("bounds: a frame flood closes the socket with 4008", async () => {
  await withConnectorHub(async (t, creds) => {
    const c = new RawClient(t.url);
    await c.auth(creds);
    await c.next("welcome");
    for (let i = 0; i < 500; i++) c.send({ t: "ping", at: i });
    assert.deepEqual(await c.closed, CLOSE.rateExceeded);
  });
});

Deno.test("results for unknown jobs are ignored and the socket stays open", async () => {
  await withConnectorHub(async (t, creds) => {
    const c = new RawClient(t.url);
    await c.auth(creds);
    await c.next("welcome");
    c.send({ t: "result", id: "no-such-job", ok: true, data: { tickets: [] } });
    c.send({ t: "ping", at: 9 });
    assert.deepEqual(await c.next("pong"), { t: "pong", at: 9 });
    assert.equal(t.hub.metrics.value("shlyuz_connector_results_ignored_total"), 1);
    await c.close();
  });
});

Deno.test("a duplicate result and a late one are ignored: only the first answer before the deadline counts", async () => {
  await withConnectorHub(async (t, creds) => {
    const d = t.hub.connectors.dispatcher;
    const c = new RawClient(t.url);
    await c.auth(creds);
    await c.next("welcome");
    await d.pollNow(t.org);
    const [first, second] = [await c.next("job"), await c.next("job")].map((j) => j!.id as string);
    const answer = (id: string) => c.send({ t: "result", id, ok: true, data: { tickets: [] } });
    answer(first);
    answer(first); // the duplicate
    await eventually(async () => (await d.job(t.org, first))?.state === "done");
    // The other job's deadline passes unanswered; its answer then comes late.
    await eventually(async () => (await d.job(t.org, second))?.state === "expired", { timeoutMs: 10_000 });
    answer(second);
    c.send({ t: "ping", at: 3 });
    assert.deepEqual(await c.next("pong"), { t: "pong", at: 3 }, "the socket stays open");
    assert.equal(t.hub.metrics.value("shlyuz_connector_results_ignored_total"), 2);
    assert.equal((await d.job(t.org, second))?.state, "expired");
    assert.equal((await t.hub.events.recent(t.org, { types: ["sla.snapshot"] })).length, 1, "one snapshot stored");
    await c.close();
  }, { env: { SLA_DEADLINE_SEC: "2" } });
});

Deno.test("a second socket of the same connector replaces the first (4009) and the connector stays online", async () => {
  await withConnectorHub(async (t, creds) => {
    const first = new RawClient(t.url);
    await first.auth(creds);
    await first.next("welcome");
    const second = new RawClient(t.url);
    await second.auth(creds);
    await second.next("welcome");
    assert.deepEqual(await first.closed, CLOSE.replaced);
    const one = await (await t.api(`/api/v1/connectors/${creds.connectorId}`)).json();
    assert.equal(one.status.state, "online");
    assert.equal((await t.hub.events.recent(t.org, { types: ["connector.offline"] })).length, 0);
    await second.close();
  });
});

Deno.test("the registry API: viewers read, only admins create; token and key appear only in the creation answer", async () => {
  await withConnectorHub(async (t, creds) => {
    const viewer = await t.tokenFor("viewer");
    const list = await (await t.api("/api/v1/connectors", { token: viewer })).json();
    assert.equal(list.items.length, 1);
    const text = JSON.stringify(list);
    assert.ok(!text.includes(creds.token) && !text.includes(creds.key));
    const refused = await t.api("/api/v1/connectors", { method: "POST", json: { name: "x" }, token: viewer });
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
    const invalid = await t.api("/api/v1/connectors", { method: "POST", json: { name: "" } });
    assert.equal(invalid.status, 422);
    assert.match((await invalid.json()).error.message, /name/);
    // KV holds the token as a hash and the key sealed.
    const raw = JSON.stringify((await t.hub.kv.get(["connector", t.org, creds.connectorId])).value);
    assert.ok(!raw.includes(creds.token) && !raw.includes(creds.key));
    const patched = await t.api(`/api/v1/connectors/${creds.connectorId}`, {
      method: "PATCH",
      json: { name: "Цех 1 (склад)" },
    });
    assert.equal((await patched.json()).name, "Цех 1 (склад)");
    const missing = await t.api("/api/v1/connectors/con_nope");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});
