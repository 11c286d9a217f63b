/**
 * `task.process`: one or more enrichment tasks (REST async, batch, RabbitMQ,
 * retries, re-drives). Each task is validated on its own — a bad one is
 * dead-lettered with the same message the REST API gives, the rest go on.
 */
import { taskProcessKind } from "../lib/enrichment/kinds.ts";
import type { EnrichmentService } from "../lib/enrichment/service.ts";
import { defineJob } from "../lib/queue/queue.ts";

/** The handler; idempotent through the task claims (see lib/enrichment/processor.ts). */
export function taskProcessJob(svc: EnrichmentService) {
  return defineJob(taskProcessKind, {
    async handle(p, ctx) {
      await svc.processor.processQueued(ctx.org, p.tasks, p.source);
      await svc.processor.settled(ctx.id);
    },
  });
}
