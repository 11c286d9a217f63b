/**
 * Issue 10, finding 1: an organization's admin scheduled an internal action
 * `task.amqp` with forged results and got them onto the operator's RabbitMQ
 * result queue, announced as another organization's tasks. Two locks now: a
 * tenant may schedule only kinds that declare themselves schedulable, and
 * `task.amqp` refuses a message of any organization but the bridge's.
 */
import assert from "node:assert/strict";
import amqp from "amqplib";
import { AMQP_URL, serviceOrSkip } from "../helpers/services.ts";
import { ValidationError } from "../../lib/errors.ts";
import { startHarness, waitFor } from "../helpers/enrichment.ts";

const available = await serviceOrSkip("RabbitMQ", async () => {
  const c = await amqp.connect(AMQP_URL);
  await c.close();
});

Deno.test({
  name: "another organization can neither schedule task.amqp nor get a forged {task_id, id} onto the result queue",
  ignore: !available,
  fn: async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const q = { task: `sec_tasks_${id}`, result: `sec_results_${id}` };
    const h = await startHarness({
      env: { AMQP_URL, AMQP_TASK_QUEUE: q.task, AMQP_RESULT_QUEUE: q.result, AMQP_ORG: "org-a" },
    });
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    try {
      await waitFor(() => h.svc.bridge!.status().state === "connected", 5000, "bridge connected");
      const scheduler = h.hub.scheduler;
      const forged = { type: "internal", job: "task.amqp", payload: { results: [{ task_id: 1000, id: 31337 }] } };
      for (const job of ["task.amqp", "task.result", "task.webhook", "schedule.fire"]) {
        await assert.rejects(
          () =>
            scheduler.create("org-b", scheduler.parse({ name: "x", cron: "* * * * *", action: { ...forged, job } })),
          (e: unknown) => e instanceof ValidationError && /not a job organizations may schedule/.test(e.message),
          `${job} must not be schedulable`,
        );
      }
      assert.ok(h.hub.queue.schedulableKinds().includes("task.process"), "own-organization kinds stay schedulable");

      // Whatever path a message of org B takes onto the queue (a re-drive, an old schedule), the job refuses it.
      await h.hub.queue.enqueue("task.amqp", forged.payload, { org: "org-b" });
      await waitFor(
        async () => (await h.hub.queue.dead.list("org-b", { kind: "task.amqp" })).items.length === 1,
        10_000,
        "the forged message dead-lettered",
      );
      const dead = (await h.hub.queue.dead.list("org-b", { kind: "task.amqp" })).items[0];
      assert.match(dead.reason, /carries only org-a's results/);
      assert.equal(await ch.get(q.result, { noAck: true }), false, "nothing reached the result queue");
    } finally {
      await ch.deleteQueue(q.task).catch(() => {});
      await ch.deleteQueue(q.result).catch(() => {});
      await ch.deleteQueue(`${q.task}.dead`).catch(() => {});
      await conn.close();
      await h.close();
    }
  },
});
