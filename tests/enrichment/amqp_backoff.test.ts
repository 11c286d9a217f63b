import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import amqp from "amqplib";
import { AmqpBridge } from "../../lib/enrichment/amqp_bridge.ts";
import type { Clock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { AMQP_URL, serviceOrSkip } from "../helpers/services.ts";
import { waitFor } from "../helpers/enrichment.ts";

const available = await serviceOrSkip("RabbitMQ", async () => {
  const c = await amqp.connect(AMQP_URL);
  await c.close();
});

async function withBridge(
  submit: (org: string, tasks: unknown[]) => Promise<unknown>,
  fn: (bridge: AmqpBridge, send: (n: number) => Promise<void>) => Promise<void>,
  clock?: Clock,
) {
  const id = crypto.randomUUID().slice(0, 8);
  const q = { task: `enrich_backoff_tasks_${id}`, result: `enrich_backoff_results_${id}` };
  const bridge = new AmqpBridge({
    url: AMQP_URL,
    taskQueue: q.task,
    resultQueue: q.result,
    org: () => "org",
    submit,
    deadLetter: () => Promise.resolve(),
    log: memoryLogger("error"),
    maxBackoffMs: 2000,
    clock,
  });
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  try {
    await bridge.start();
    await waitFor(() => bridge.status().state === "connected", 5000, "bridge connected");
    await fn(bridge, async (n) => {
      for (let i = 0; i < n; i++) {
        ch.sendToQueue(q.task, Buffer.from(JSON.stringify({ task_id: i, task_type: "phone", data: "+7 916" })));
      }
      await ch.waitForConfirms();
    });
  } finally {
    await bridge.close();
    for (const name of [q.task, q.result, `${q.task}.dead`]) await ch.deleteQueue(name).catch(() => {});
    await conn.close();
  }
}

Deno.test({
  name: "the RabbitMQ bridge pauses, growing, before returning a batch it cannot move, instead of spinning",
  ignore: !available,
  fn: async () => {
    // The clock records each pause the bridge asks for; the first five end at once, the sixth
    // lasts until the bridge closes (so the test ends with no batch spinning).
    const pauses: number[] = [];
    let calls = 0;
    const clock: Clock = {
      now: () => Date.now(),
      sleep(ms, signal) {
        pauses.push(ms);
        if (pauses.length <= 5) return Promise.resolve();
        return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
      },
    };
    await withBridge(() => {
      calls++;
      return Promise.reject(new Error("KV is unavailable"));
    }, async (_bridge, send) => {
      await send(5);
      await waitFor(() => pauses.length >= 6, 10_000, "six pauses");
      // Doubling from 250 ms up to the cap (maxBackoffMs 2000), one pause per failed attempt.
      assert.deepEqual(pauses.slice(0, 6), [250, 500, 1000, 2000, 2000, 2000]);
      assert.equal(calls, 6, "no attempt without a pause before the next");
    }, clock);
  },
});

Deno.test({
  name: "the RabbitMQ bridge splits a batch KV finds too large and moves every task",
  ignore: !available,
  fn: async () => {
    const moved: unknown[] = [];
    await withBridge((_org, tasks) => {
      if (tasks.length > 3) return Promise.reject(new TypeError("Total mutation size too large (max 819200 bytes)"));
      moved.push(...tasks);
      return Promise.resolve();
    }, async (_bridge, send) => {
      await send(20);
      await waitFor(() => moved.length >= 20, 5000, "20 tasks moved");
      assert.equal(moved.length, 20);
    });
  },
});
