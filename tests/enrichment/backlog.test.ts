/**
 * The queue's depth (/healthz `queue.backlog`, `shlyuz_queue_backlog`) is read
 * from KV state, so a process that stops without flushing anything leaves it
 * true for the next one.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { defineJob, defineKind, Queue } from "../../lib/queue/queue.ts";
import { memoryLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { eventually } from "../helpers/hub.ts";

function queueOn(kv: Deno.Kv, onHandle: (n: number) => void | Promise<void>) {
  const queue = new Queue(kv, { log: memoryLogger(), metrics: new Metrics(), backoffMs: [10, 10] });
  const depth = defineKind({ kind: "test.depth", payload: z.object({ n: z.int() }), description: "test" });
  queue.register(defineJob(depth, { handle: async (p) => await onHandle(p.n) }));
  return queue;
}

Deno.test("the backlog after a process stops abruptly counts exactly the messages not yet handled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_backlog_" });
  try {
    const kv = await Deno.openKv(`${dir}/q.kv`);
    const handled = new Set<number>();
    const queue = queueOn(kv, (n) => void handled.add(n));
    await queue.enqueueMany(Array.from({ length: 6 }, (_, n) => ({ kind: "test.depth", payload: { n }, org: "o" })));
    // Two more wait a long while (as delayed retries do): they are on the queue too.
    await queue.enqueueMany([7, 8].map((n) => ({ kind: "test.depth", payload: { n }, org: "o", delayMs: 3_600_000 })));
    assert.equal(await queue.backlog(), 8);
    const listening = queue.listen();
    await eventually(() => handled.size === 6, { timeoutMs: 10_000 });
    await queue.stop();
    // The process goes away without a word: nothing flushed, nothing counted on the way out.
    kv.close();
    await listening;
    const again = await Deno.openKv(`${dir}/q.kv`);
    try {
      assert.equal(await queueOn(again, () => {}).backlog(), 2);
    } finally {
      again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a delivery whose handler failed stays on the backlog until a retry settles it; a dead letter leaves it", async () => {
  const kv = await Deno.openKv(":memory:");
  let calls = 0;
  const queue = queueOn(kv, () => {
    calls++;
    throw new Error("down");
  });
  try {
    const listening = queue.listen();
    await queue.enqueue("test.depth", { n: 1 }, { org: "o" });
    await eventually(async () => (await queue.dead.list("o")).items.length === 1, { timeoutMs: 10_000 });
    await queue.idle();
    assert.equal(calls, 3);
    assert.equal(await queue.backlog(), 0);
    kv.close();
    await listening;
  } finally {
    try {
      kv.close();
    } catch { /* closed */ }
  }
});
