import assert from "node:assert/strict";
import { EventBus } from "../../lib/events/bus.ts";
import type { HubEvent, StreamItem } from "../../lib/events/types.ts";
import { memoryLogger } from "../../lib/log.ts";

async function withBus(fn: (bus: EventBus, kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  const bus = new EventBus(kv, { log: memoryLogger("error"), channel: null, strict: true });
  try {
    await fn(bus, kv);
  } finally {
    bus.close();
    kv.close();
  }
}

const emit = async (bus: EventBus, name: string, data: Record<string, unknown> = {}, org = "o1") =>
  (await bus.publish(org, `custom.${name}`, data))!;

/** The next `n` events of a stream (heartbeats skipped). */
async function take(items: AsyncGenerator<StreamItem>, n: number): Promise<HubEvent[]> {
  const out: HubEvent[] = [];
  while (out.length < n) {
    const { value, done } = await items.next();
    if (done) break;
    if (value.kind === "event") out.push(value.event);
  }
  return out;
}

/** Events until (and with) the first of `type`. */
async function takeUntil(items: AsyncGenerator<StreamItem>, type: string): Promise<HubEvent[]> {
  const out: HubEvent[] = [];
  while (out.at(-1)?.type !== type) {
    const got = await take(items, 1);
    if (!got.length) break;
    out.push(...got);
  }
  return out;
}

Deno.test("stream() yields open once subscribed, then live events of its organization only", async () => {
  await withBus(async (bus) => {
    const items = bus.stream("o1");
    assert.deepEqual((await items.next()).value, { kind: "open" });
    assert.equal(bus.subscriberCount, 1, "subscribed by the time open arrives");
    await emit(bus, "elsewhere", {}, "o2");
    const mine = await emit(bus, "mine", { n: 1 });
    const [got] = await take(items, 1);
    assert.deepEqual(got, mine);
    await items.return();
    assert.equal(bus.subscriberCount, 0, "returning unsubscribes");
  });
});

Deno.test("stream() resumes after afterId: the stored events, then live, each once even when seen both ways", async () => {
  await withBus(async (bus) => {
    const first = await emit(bus, "a");
    const missed = [await emit(bus, "b"), await emit(bus, "c")];
    const items = bus.stream("o1", { afterId: first.id });
    await items.next(); // open: subscribed, the replay not read yet
    // Published after subscribing and before the replay reads KV: it is in both, and must come once.
    const both = await emit(bus, "d");
    const live = await emit(bus, "e");
    const got = await take(items, 4);
    assert.deepEqual(got.map((e) => e.id), [...missed.map((e) => e.id), both.id, live.id]);
    await items.return();
  });
});

Deno.test("stream() dedupes an event published while the replay reads KV (buffered live and found in KV)", async () => {
  await withBus(async (bus) => {
    const first = await emit(bus, "a");
    const since = bus.since.bind(bus);
    let during: HubEvent | undefined;
    bus.since = async (org, options) => {
      during ??= await emit(bus, "during"); // reaches the live buffer, then the read finds it in KV too
      return await since(org, options);
    };
    const items = bus.stream("o1", { afterId: first.id });
    await items.next();
    const got = await take(items, 1);
    const after = await emit(bus, "after");
    got.push(...await take(items, 1));
    assert.deepEqual(got.map((e) => e.id), [during!.id, after.id], "during once, then after");
    await items.return();
  });
});

Deno.test("stream() filters by exact type and by prefix, in the replay and live", async () => {
  await withBus(async (bus) => {
    const start = await emit(bus, "start");
    const replayed = await emit(bus, "keep.one");
    await emit(bus, "drop");
    const items = bus.stream("o1", { afterId: start.id, types: ["custom.keep.*", "custom.exact"] });
    await items.next();
    await emit(bus, "drop.live");
    const exact = await emit(bus, "exact");
    const prefixed = await emit(bus, "keep.two");
    assert.deepEqual((await take(items, 3)).map((e) => e.id), [replayed.id, exact.id, prefixed.id]);
    await items.return();
  });
});

Deno.test("stream() holds at most maxBuffer events for a slow consumer, then catches up from KV without losing or repeating any", async () => {
  await withBus(async (bus) => {
    let reads = 0;
    const since = bus.since.bind(bus);
    bus.since = (org, options) => {
      reads++;
      return since(org, options);
    };
    const items = bus.stream("o1", { maxBuffer: 5, pageSize: 10 });
    await items.next();
    const published: string[] = [];
    // The consumer pulls nothing while 47 events are published.
    for (let i = 0; i < 47; i++) published.push((await emit(bus, "bulk", { i })).id);
    assert.equal(reads, 0, "nothing read from KV yet: the stream is lazy");
    const got = await take(items, 5); // what the buffer held
    // Ask for the next one before publishing "end": a stream that dropped the rest would answer with "end".
    const pending = items.next();
    published.push((await emit(bus, "end")).id);
    const next = (await pending).value;
    if (next?.kind === "event") got.push(next.event);
    while (got.at(-1)?.type !== "custom.end") got.push(...await take(items, 1));
    assert.deepEqual(got.map((e) => e.id), published, "every event once, in order");
    assert.ok(reads >= 5, `caught up from KV in pages of 10 (${reads} reads)`);
    // Live again afterwards.
    const after = await emit(bus, "after");
    assert.deepEqual((await take(items, 1)).map((e) => e.id), [after.id]);
    await items.return();
  });
});

Deno.test("stream() yields an event whose commit finished after a newer one's (ids out of order), live and after lagging", async () => {
  await withBus(async (bus, kv) => {
    const items = bus.stream("o1", { maxBuffer: 2, pageSize: 10 });
    await items.next();
    // Two publishers stage their events (ids made now, in this order) and commit the other way round:
    // the older id is fanned out second, as two enrichment chunks or two isolates can do.
    const opOlder = kv.atomic();
    const fanOlder = bus.stage(opOlder, "o1", "custom.older", {});
    const opNewer = kv.atomic();
    const fanNewer = bus.stage(opNewer, "o1", "custom.newer", {});
    await opNewer.commit();
    fanNewer();
    await opOlder.commit();
    fanOlder();
    await emit(bus, "end"); // a marker, so a stream that dropped "older" fails here instead of waiting
    const live = await takeUntil(items, "custom.end");
    assert.deepEqual(
      live.map((e) => e.type),
      ["custom.newer", "custom.older", "custom.end"],
      "the older id is not dropped",
    );
    // Lagging: the consumer pulls nothing while 5 events pass a buffer of 2, and one of them is committed
    // after the others although its id is older. The catch-up from KV still yields it, and nothing twice.
    const opLate = kv.atomic();
    const fanLate = bus.stage(opLate, "o1", "custom.late", {});
    const rest: string[] = [];
    for (let i = 0; i < 4; i++) rest.push((await emit(bus, "bulk", { i })).id);
    await opLate.commit();
    fanLate();
    const got = await take(items, 5);
    assert.equal(new Set(got.map((e) => e.id)).size, 5, "no event twice");
    assert.deepEqual(got.map((e) => e.type).sort(), [
      "custom.bulk",
      "custom.bulk",
      "custom.bulk",
      "custom.bulk",
      "custom.late",
    ]);
    await items.return();
  });
});

Deno.test("stream() yields a heartbeat when nothing happens for heartbeatMs", async () => {
  await withBus(async (bus) => {
    const items = bus.stream("o1", { heartbeatMs: 1 });
    await items.next();
    assert.deepEqual((await items.next()).value, { kind: "heartbeat" });
    await items.return();
  });
});

Deno.test("stream() ends when its signal aborts or the bus closes, and lets go of its subscription", async () => {
  await withBus(async (bus) => {
    const abort = new AbortController();
    const items = bus.stream("o1", { signal: abort.signal });
    await items.next();
    const waiting = items.next();
    abort.abort();
    assert.equal((await waiting).done, true);
    assert.equal(bus.subscriberCount, 0);

    const other = bus.stream("o1");
    await other.next();
    const pending = other.next();
    bus.close();
    assert.equal((await pending).done, true);
  });
});
