/**
 * The events the scheduler publishes, for the event catalogue
 * (lib/events/catalogue.ts): one per finished run, `schedule.failed` for a
 * failed or timed-out run, `schedule.run` for every other outcome.
 */
import { z } from "zod";
import { defineEvent } from "../events/define.ts";

const run = z.object({
  runId: z.string(),
  scheduleId: z.string(),
  scheduleName: z.string(),
  outcome: z.enum(["queued", "running", "ok", "failed", "timeout", "skipped", "missed"]),
  trigger: z.enum(["schedule", "catch_up", "manual"]),
  /** ISO time of the occurrence. */
  plannedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  httpStatus: z.number().int().optional(),
  /** The schedule's time zone. */
  timezone: z.string(),
  /** Why the run failed, was skipped or missed, in words. */
  reason: z.string().optional(),
});

export const schedulerEvents = {
  "schedule.run": defineEvent({
    title: { ru: "Запуск по расписанию", en: "Scheduled run" },
    description: "A schedule's run finished: ok, skipped (overlap) or missed (catch-up policy)",
    schema: run,
  }),
  "schedule.failed": defineEvent({
    title: { ru: "Запуск не удался", en: "Scheduled run failed" },
    description: "A schedule's run failed or timed out after its retries",
    schema: run,
  }),
};
