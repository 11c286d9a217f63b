/**
 * `task.result`: fan-out of stored results — an event on the bus (live page,
 * SSE), the RabbitMQ result queue, and the organization's webhook (as its
 * own `task.webhook` message, so its retries do not repeat the others).
 * Each destination is marked done under the envelope id, so a redelivery
 * repeats only what had not happened.
 */
import { z } from "zod";
import type { Hub } from "../lib/hub.ts";
import { dedupeKey } from "../lib/kv/dedupe.ts";
import type { EnrichmentService } from "../lib/enrichment/mod.ts";
import { RESULT_KIND } from "../lib/enrichment/mod.ts";
import { sendWebhook } from "../lib/enrichment/webhooks.ts";
import { defineJob } from "../lib/queue/queue.ts";

const resultSchema = z.object({
  cursor: z.string(),
  task_id: z.int(),
  id: z.int(),
  task_type: z.string(),
  at: z.string(),
});
export const taskResultPayload = z.object({ results: z.array(resultSchema).min(1) });
export const WEBHOOK_KIND = "task.webhook";
const DAY = 24 * 3600_000;

/** Publishes the results to every destination, once each. */
export function taskResultJob(hub: Pick<Hub, "events" | "queue" | "kv">, svc: EnrichmentService) {
  return defineJob({
    kind: RESULT_KIND,
    payload: taskResultPayload,
    async handle(p, ctx) {
      // Steps that already happened on an earlier delivery are recorded under one marker; on the
      // happy path nothing is written (a crash between a step and the ack repeats it: at least once).
      const key = dedupeKey(RESULT_KIND, ctx.id);
      const done = new Set((await ctx.kv.get<string[]>(key)).value ?? []);
      const results = p.results.map((r) => ({
        task_id: r.task_id,
        id: r.id,
        task_type: r.task_type,
        cursor: r.cursor,
      }));
      const steps: Array<[string, () => Promise<unknown>]> = [
        ["event", () => {
          const one = results.length === 1 ? { task_id: results[0].task_id, id: results[0].id } : {};
          return hub.events.publish(ctx.org, "task.done", { ...one, count: results.length, results });
        }],
        ["amqp", async () => {
          if (svc.bridge && ctx.org === (await svc.bridgeOrg())) await svc.bridge.publishResults(results);
        }],
        ["webhook", async () => {
          if (await svc.webhook(ctx.org)) await hub.queue.enqueue(WEBHOOK_KIND, ctx.org, { results });
        }],
      ];
      for (const [name, fn] of steps) {
        if (done.has(name)) continue;
        try {
          await fn();
          done.add(name);
        } catch (error) {
          await ctx.kv.set(key, [...done], { expireIn: DAY });
          throw error;
        }
      }
    },
  });
}

export const taskWebhookPayload = z.object({
  results: z.array(z.object({ task_id: z.int(), id: z.int() }).loose()).min(1),
});

/** Delivers one signed webhook; failures retry on the queue's backoff, then dead-letter. */
export function taskWebhookJob(hub: Pick<Hub, "fetch" | "clock">, svc: EnrichmentService) {
  return defineJob({
    kind: WEBHOOK_KIND,
    payload: taskWebhookPayload,
    backoffMs: [1000, 5000, 30_000, 120_000, 600_000],
    async handle(p, ctx) {
      const hook = await svc.webhook(ctx.org);
      if (!hook) return; // switched off meanwhile
      await sendWebhook(hook.url, {
        secret: hook.secret,
        payload: { event: "task.result", results: p.results.map((r) => ({ task_id: r.task_id, id: r.id })) },
        fetch: hub.fetch,
        now: hub.clock.now(),
      });
    },
  });
}
