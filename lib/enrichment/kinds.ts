/**
 * The enrichment capability's queue message kinds: `task.process` carries
 * tasks to enrich, `task.result` fans stored results out, `task.amqp` and
 * `task.webhook` deliver them to RabbitMQ and the organization's webhook.
 */
import { z } from "zod";
import { defineKind, type KindMap } from "../queue/kind.ts";
import { resultEntrySchema, taskResultSchema } from "./task_schema.ts";

/**
 * A queued task: the raw task (validated by the handler, one by one), how many rounds it has failed, and its
 * submission: every copy of one submission (a crash's re-enqueue, a redelivery, a later round) carries the
 * same `sub`, so a copy of a submission that already failed does not run again.
 */
const queuedTaskSchema = z.object({
  task: z.unknown(),
  attempt: z.int().min(0).default(0),
  sub: z.string().min(1).max(64).optional(),
});

export const taskProcessKind = defineKind({
  kind: "task.process",
  payload: z.object({
    tasks: z.array(queuedTaskSchema).min(1).max(1000),
    source: z.string().default("queue"),
  }),
  description: "Enriches one or more tasks through DaData or YandexGPT",
  schedulable: true, // enqueues tasks of the message's own organization
});

export const taskResultKind = defineKind({
  kind: "task.result",
  payload: z.object({ results: z.array(resultEntrySchema).min(1) }),
  description: "Publishes stored results and hands them to RabbitMQ and the webhook",
});

/** What the result queue and the webhook carry of a result. */
const deliveredResults = z.array(taskResultSchema.loose()).min(1);

export const taskAmqpKind = defineKind({
  kind: "task.amqp",
  payload: z.object({ results: deliveredResults }),
  description: "Publishes results to the RabbitMQ result queue",
  // Retried for about 40 minutes while the broker is away.
  backoffMs: [1000, 5000, 30_000, 120_000, 600_000, 1_800_000],
});

export const taskWebhookKind = defineKind({
  kind: "task.webhook",
  payload: z.object({ results: deliveredResults }),
  description: "Delivers results to the organization's signed webhook",
  backoffMs: [1000, 5000, 30_000, 120_000, 600_000],
});

export const enrichmentKinds = [taskProcessKind, taskResultKind, taskAmqpKind, taskWebhookKind] as const;
export type EnrichmentKinds = KindMap<typeof enrichmentKinds>;

/** What a producer puts in a `task.process` message. */
export type ProcessPayload = z.input<typeof taskProcessKind.payload>;
/** A queued task as a producer writes it. */
export type QueuedTask = ProcessPayload["tasks"][number];
/** A `task.result` message. */
export type ResultMessage = z.input<typeof taskResultKind.payload>;
