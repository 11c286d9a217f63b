/**
 * The events of enrichment (DaData/YandexGPT tasks), for the event catalogue
 * (lib/events/catalogue.ts).
 */
import { z } from "zod";
import { defineEvent } from "../events/define.ts";
import { resultEntrySchema } from "./task_schema.ts";

/** A result as `task.done` lists it (the result log's entry without its time: the event has its own). */
const result = resultEntrySchema.omit({ at: true });

export const enrichmentEvents = {
  "task.done": defineEvent({
    title: { ru: "Задания выполнены", en: "Tasks done" },
    description:
      "Enrichment results were stored (one event per batch); task_id and id are set when the batch holds one task",
    schema: z.object({
      task_id: z.int().optional(),
      id: z.int().optional(),
      count: z.int().min(1),
      results: z.array(result),
    }),
  }),
  "task.failed": defineEvent({
    title: { ru: "Задание не выполнено", en: "Task failed" },
    description:
      "An enrichment task was dead-lettered: retries used up, a conflict, or it did not validate (task_id and task_type null when unknown)",
    schema: z.object({
      task_id: z.int().nullable(),
      task_type: z.string().nullable(),
      reason: z.string(),
      /** Where the task came from: rest, amqp, redrive… */
      source: z.string(),
    }),
  }),
};
