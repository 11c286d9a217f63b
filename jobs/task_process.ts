/**
 * `task.process`: one or more enrichment tasks (REST async, batch, RabbitMQ,
 * retries, re-drives). Each task is validated on its own — a bad one is
 * dead-lettered with the same message the REST API gives, the rest go on.
 */
import { z } from "zod";
import type { EnrichmentService } from "../lib/enrichment/mod.ts";
import { PROCESS_KIND } from "../lib/enrichment/mod.ts";
import { defineJob } from "../lib/queue/queue.ts";
import type { Hub } from "../lib/hub.ts";
import { taskAmqpJob, taskResultJob, taskWebhookJob } from "./task_result.ts";

export const taskProcessPayload = z.object({
  tasks: z.array(z.object({
    task: z.unknown(),
    attempt: z.int().min(0).default(0),
    /** The submission this copy belongs to (copies of a failed submission do not run again). */
    sub: z.string().min(1).max(64).optional(),
  })).min(1).max(1000),
  source: z.string().default("queue"),
});

/** The handler; idempotent through the task claims (see lib/enrichment/processor.ts). */
export function taskProcessJob(svc: EnrichmentService) {
  return defineJob({
    kind: PROCESS_KIND,
    payload: taskProcessPayload,
    schedulable: true, // enqueues tasks of the message's own organization
    async handle(p, ctx) {
      await svc.processor.processQueued(ctx.org, p.tasks, p.source);
      await svc.processor.settled(ctx.id);
    },
  });
}

/** Registers task.process, task.result, task.webhook and task.amqp (main.ts starts the service itself). */
export function registerEnrichmentJobs(hub: Hub): void {
  const svc = hub.enrichment;
  if (!svc) return;
  hub.queue.register(taskProcessJob(svc));
  hub.queue.register(taskResultJob(hub, svc));
  hub.queue.register(taskWebhookJob(hub, svc));
  hub.queue.register(taskAmqpJob(svc));
}
