import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import amqp from "amqplib";
import { AMQP_URL, serviceOrSkip } from "../helpers/services.ts";
import type { Task } from "../../lib/enrichment/task_schema.ts";
import { allResults, startHarness, waitFor } from "../helpers/enrichment.ts";

const available = await serviceOrSkip("RabbitMQ", async () => {
  const c = await amqp.connect(AMQP_URL);
  await c.close();
});

function queues() {
  const id = crypto.randomUUID().slice(0, 8);
  return { task: `enrich_test_tasks_${id}`, result: `enrich_test_results_${id}` };
}

async function drain(ch: amqp.Channel, queue: string, n: number, timeoutMs = 15_000): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  const end = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < end) {
    const m = await ch.get(queue, { noAck: true });
    if (m) out.push(m);
    else await new Promise((r) => setTimeout(r, 20));
  }
  return out;
}

Deno.test({
  name:
    "the RabbitMQ bridge turns queued tasks into rows and publishes {task_id, id} once each; malformed messages go to the dead queue with the reason",
  ignore: !available,
  fn: async () => {
    const q = queues();
    let calls = 0;
    const h = await startHarness({
      env: { AMQP_URL, AMQP_TASK_QUEUE: q.task, AMQP_RESULT_QUEUE: q.result, AMQP_ORG: "org-amqp" },
      options: {
        enrich: (_o: string, t: Task) => {
          calls++;
          return Promise.resolve({ source: t.data, qc: 0 });
        },
      },
    });
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createConfirmChannel();
    try {
      await waitFor(() => h.svc.bridge!.status().state === "connected", 5000, "bridge connected");
      for (let i = 0; i < 500; i++) {
        const task = { task_id: i, task_type: "phone", data: `+7 916 000 ${i}` };
        ch.sendToQueue(q.task, Buffer.from(JSON.stringify(task)), { persistent: true });
        if (i % 100 === 0) ch.sendToQueue(q.task, Buffer.from(JSON.stringify(task)), { persistent: true }); // a resend
      }
      ch.sendToQueue(q.task, Buffer.from("not json"), { persistent: true });
      ch.sendToQueue(q.task, Buffer.from(JSON.stringify({ task_id: 1, task_type: "phone" })), { persistent: true });
      await ch.waitForConfirms();
      const results = await drain(ch, q.result, 500);
      assert.equal(results.length, 500);
      const parsed = results.map((m) => JSON.parse(m.content.toString()));
      assert.deepEqual(Object.keys(parsed[0]).sort(), ["id", "task_id"]);
      assert.equal(new Set(parsed.map((r) => r.task_id)).size, 500);
      assert.ok(results.every((m) => m.properties.deliveryMode === 2), "persistent");
      assert.equal(calls, 500);
      const dead = await drain(ch, `${q.task}.dead`, 2);
      assert.deepEqual(dead.map((m) => String(m.properties.headers?.["x-shlyuz-reason"])).sort(), [
        "(body): is not valid UTF-8 JSON",
        "data: must be a string",
      ]);
      const kvDead = await h.hub.queue.dead.list("org-amqp", { kind: "task.process" });
      assert.equal(kvDead.items.length, 2);
      assert.equal((await allResults(h.svc, "org-amqp")).length, 500);
      assert.equal((await drain(ch, q.result, 1, 300)).length, 0, "no duplicate results");
      const st = h.svc.bridge!.status();
      assert.equal(st.rejected, 2);
      assert.equal(st.published, 500);
    } finally {
      await ch.deleteQueue(q.task).catch(() => {});
      await ch.deleteQueue(q.result).catch(() => {});
      await ch.deleteQueue(`${q.task}.dead`).catch(() => {});
      await conn.close();
      await h.close();
    }
  },
});

Deno.test({
  name: "the RabbitMQ bridge reconnects by itself after the connection drops and keeps consuming",
  ignore: !available,
  fn: async () => {
    const q = queues();
    const h = await startHarness({
      env: { AMQP_URL, AMQP_TASK_QUEUE: q.task, AMQP_RESULT_QUEUE: q.result, AMQP_ORG: "o" },
      options: { enrich: () => Promise.resolve("ok") },
    });
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createConfirmChannel();
    try {
      const bridge = h.svc.bridge!;
      await waitFor(() => bridge.status().state === "connected", 5000, "connected");
      await bridge.dropConnection();
      assert.equal(bridge.status().state, "disconnected");
      ch.sendToQueue(q.task, Buffer.from(JSON.stringify({ task_id: 1, task_type: "gpt", data: "hi" })), {
        persistent: true,
      });
      await ch.waitForConfirms();
      await waitFor(() => bridge.status().state === "connected", 10_000, "reconnected");
      assert.ok(bridge.status().reconnects >= 1);
      const results = await drain(ch, q.result, 1);
      assert.deepEqual(JSON.parse(results[0].content.toString()).task_id, 1);
    } finally {
      await ch.deleteQueue(q.task).catch(() => {});
      await ch.deleteQueue(q.result).catch(() => {});
      await ch.deleteQueue(`${q.task}.dead`).catch(() => {});
      await conn.close();
      await h.close();
    }
  },
});
