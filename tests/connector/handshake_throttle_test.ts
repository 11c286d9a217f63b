/**
 * The refused-handshake throttle on its own: its counters are in KV, so two
 * throttles on one KV (two hub processes, two Deno Deploy isolates) share one
 * ceiling, parallel refusals are each counted at one commit, guessed ids cost
 * no key of their own, past windows' counters are deleted, an IPv6 /64 is
 * one address, and a lock once seen costs this process no KV reads.
 */
import assert from "node:assert/strict";
import {
  HANDSHAKE_THROTTLE_PREFIX,
  HandshakeThrottle,
  type HandshakeThrottleOptions,
} from "../../lib/connector/handshake_throttle.ts";

async function withKv(fn: (kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

/** Refuses one handshake of `connectorId` (an id that exists unless `knownConnector` is false) from `address`. */
async function refuse(th: HandshakeThrottle, address: string, connectorId: string, knownConnector = true) {
  const check = await th.check(address, connectorId);
  assert.equal(check.locked, null, `${address} ${connectorId} may still try`);
  await check.refused({ knownConnector });
}

/** Every throttle counter in KV, as [kind, address, connector id?, count]. */
async function counters(kv: Deno.Kv) {
  const entries = await Array.fromAsync(kv.list<Deno.KvU64>({ prefix: [HANDSHAKE_THROTTLE_PREFIX] }));
  return entries.map((e) => [...e.key.slice(2), Number(e.value.value)]);
}

const locked = async (th: HandshakeThrottle, address: string, id: string) => (await th.check(address, id)).locked;

Deno.test("HandshakeThrottle locks a pair at its ceiling, frees it after the window and on success", async () => {
  await withKv(async (kv) => {
    let now = 0;
    const th = new HandshakeThrottle(kv, { now: () => now, windowMs: 1000, maxPerPair: 2, maxPerAddress: 5 });
    await refuse(th, "10.0.0.1", "con_a");
    assert.equal(await locked(th, "10.0.0.1", "con_a"), null);
    await refuse(th, "10.0.0.1", "con_a");
    assert.equal(await locked(th, "10.0.0.1", "con_a"), "pair");
    assert.equal(await locked(th, "10.0.0.2", "con_a"), null, "another address may still try that id");
    assert.equal(await locked(th, "10.0.0.1", "con_b"), null, "that address may still try another id");
    now = 1000;
    assert.equal(await locked(th, "10.0.0.1", "con_a"), null, "the window passed");
    await refuse(th, "10.0.0.1", "con_a");
    await (await th.check("10.0.0.1", "con_a")).succeeded();
    await refuse(th, "10.0.0.1", "con_a");
    assert.equal(await locked(th, "10.0.0.1", "con_a"), null, "the success started the pair again");
    for (const id of ["con_b", "con_c", "con_d"]) await refuse(th, "10.0.0.1", id);
    assert.equal(await locked(th, "10.0.0.1", "con_e"), "address", "five refusals of the address in this window");
  });
});

Deno.test("HandshakeThrottle: two throttles on one KV (two hub processes) share every ceiling", async () => {
  await withKv(async (kv) => {
    const opts: HandshakeThrottleOptions = { maxPerPair: 4, maxPerAddress: 6 };
    const [a, b] = [new HandshakeThrottle(kv, opts), new HandshakeThrottle(kv, opts)];
    for (const th of [a, b, a, b]) await refuse(th, "10.0.0.1", "con_a");
    // Two refusals in each: counted per process, both would still be below the pair's 4.
    assert.equal(await locked(a, "10.0.0.1", "con_a"), "pair");
    assert.equal(await locked(b, "10.0.0.1", "con_a"), "pair");
    await refuse(a, "10.0.0.1", "con_b");
    await refuse(b, "10.0.0.1", "con_c");
    assert.equal(await locked(new HandshakeThrottle(kv, opts), "10.0.0.1", "con_d"), "address", "a third process too");
  });
});

Deno.test("HandshakeThrottle counts 64 parallel refusals from two processes exactly, at one commit each", async () => {
  await withKv(async (kv) => {
    let commits = 0;
    const atomic = kv.atomic.bind(kv);
    kv.atomic = () => {
      const op = atomic();
      const commit = op.commit.bind(op);
      op.commit = () => (commits++, commit());
      return op;
    };
    const opts = { maxPerPair: 20, maxPerAddress: 50 };
    const [a, b] = [new HandshakeThrottle(kv, opts), new HandshakeThrottle(kv, opts)];
    const checks = await Promise.all(Array.from({ length: 64 }, (_, i) => (i % 2 ? a : b).check("10.0.0.1", "con_a")));
    assert.ok(checks.every((c) => c.locked === null), "all read the counters before any refusal");
    await Promise.all(checks.map((c) => c.refused({ knownConnector: true })));
    assert.deepEqual(await counters(kv), [["address", "10.0.0.1", 64], ["pair", "10.0.0.1", "con_a", 64]]);
    assert.equal(commits, 64, "one commit per refusal: no retries");
    for (const th of [a, b, new HandshakeThrottle(kv, opts)]) {
      assert.equal(await locked(th, "10.0.0.1", "con_b"), "address");
    }
  });
});

Deno.test("HandshakeThrottle: refusals for ids that do not exist count only the address, whatever the number of ids", async () => {
  await withKv(async (kv) => {
    const th = new HandshakeThrottle(kv, { maxPerAddress: 100 });
    for (let i = 0; i < 40; i++) await refuse(th, "10.0.0.1", `con_guess${i}`, false);
    assert.deepEqual(await counters(kv), [["address", "10.0.0.1", 40]]);
  });
});

Deno.test("HandshakeThrottle: the first refusal of a window deletes the counters of earlier windows", async () => {
  await withKv(async (kv) => {
    let now = 5;
    const th = new HandshakeThrottle(kv, { now: () => now, windowMs: 1000 });
    await refuse(th, "10.0.0.1", "con_a");
    await refuse(th, "10.0.0.2", "con_b", false);
    now = 1500;
    const other = new HandshakeThrottle(kv, { now: () => now, windowMs: 1000 }); // another process sweeps too
    await refuse(other, "10.0.0.3", "con_c", false);
    const keys = await Array.fromAsync(kv.list({ prefix: [HANDSHAKE_THROTTLE_PREFIX] }));
    assert.deepEqual(keys.map((e) => e.key), [[HANDSHAKE_THROTTLE_PREFIX, 1000, "address", "10.0.0.3"]]);
  });
});

Deno.test("HandshakeThrottle: an IPv6 /64 is one address, and an IPv4-mapped address is its IPv4", async () => {
  await withKv(async (kv) => {
    const th = new HandshakeThrottle(kv, { maxPerPair: 3, maxPerAddress: 4 });
    for (const host of ["::1", "::2", "::3"]) await refuse(th, `2001:db8:1:2${host}`, "con_a");
    assert.equal(await locked(th, "2001:db8:1:2:ffff::9", "con_a"), "pair", "another host of that /64");
    assert.equal(await locked(th, "2001:db8:1:3::1", "con_a"), null, "the next /64 is another address");
    await refuse(th, "2001:db8:1:2:abcd::1", "con_b");
    assert.equal(await locked(th, "2001:0db8:0001:0002::7", "con_c"), "address");
    await refuse(th, "::ffff:10.0.0.1", "con_a");
    await refuse(th, "10.0.0.1", "con_a");
    await refuse(th, "::ffff:a00:1", "con_a");
    assert.equal(await locked(th, "10.0.0.1", "con_a"), "pair");
  });
});

Deno.test("HandshakeThrottle: a lock once seen is answered from memory, without reading KV, until its window ends", async () => {
  await withKv(async (kv) => {
    let reads = 0;
    const getMany = kv.getMany.bind(kv);
    kv.getMany = ((keys: Deno.KvKey[]) => {
      reads++;
      return getMany(keys);
    }) as Deno.Kv["getMany"];
    let now = 0;
    const th = new HandshakeThrottle(kv, { now: () => now, windowMs: 1000, maxPerPair: 1, maxKeys: 2 });
    await refuse(th, "10.0.0.1", "con_a");
    const before = reads;
    for (let i = 0; i < 5; i++) assert.equal(await locked(th, "10.0.0.1", "con_a"), "pair");
    assert.equal(reads, before, "no KV read for a remembered lock");
    // Two more locks push the first out of memory (maxKeys 2 counts address and pair locks): KV still has it.
    await refuse(th, "10.0.0.2", "con_b");
    await refuse(th, "10.0.0.3", "con_c");
    const evicted = reads;
    assert.equal(await locked(th, "10.0.0.1", "con_a"), "pair");
    assert.equal(reads, evicted + 1);
    now = 1000;
    assert.equal(await locked(th, "10.0.0.1", "con_a"), null, "the window passed");
  });
});
