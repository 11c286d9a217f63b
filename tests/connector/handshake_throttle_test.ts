/**
 * The refused-handshake throttle on its own: its counters are in KV, so two
 * throttles on one KV (two hub processes, two Deno Deploy isolates) share one
 * ceiling, and a lock once seen costs this process no KV reads.
 */
import assert from "node:assert/strict";
import { HandshakeThrottle, type HandshakeThrottleOptions } from "../../lib/connector/handshake_throttle.ts";

async function withKv(fn: (kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

/** Refuses one handshake of `connectorId` from `address`. */
async function refuse(th: HandshakeThrottle, address: string, connectorId: string) {
  const check = await th.check(address, connectorId);
  assert.equal(check.locked, null, `${address} ${connectorId} may still try`);
  await check.refused();
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

Deno.test("HandshakeThrottle counts parallel refusals from two processes exactly, however their commits collide", async () => {
  await withKv(async (kv) => {
    const opts = { maxPerPair: 100, maxPerAddress: 100 };
    const [a, b] = [new HandshakeThrottle(kv, opts), new HandshakeThrottle(kv, opts)];
    const checks = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).check("10.0.0.1", "con_a")));
    await Promise.all(checks.map((c) => c.refused())); // all read the same counters: seven commits must retry
    const counters = await Array.fromAsync(kv.list<{ count: number }>({ prefix: ["connector_handshake_fail"] }));
    assert.deepEqual(counters.map((e) => [e.key[1], e.value.count]), [["address", 8], ["pair", 8]]);
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
