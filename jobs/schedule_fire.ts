/**
 * `schedule.fire`: runs one occurrence of a schedule. Idempotent: the fire
 * claims (schedule, planned time) in KV before it runs, so a redelivered or
 * duplicate message is a no-op. The target's failures are recorded in the run
 * history, not thrown; only KV failures throw (and are retried by the queue).
 */
import { defineJob } from "../lib/queue/queue.ts";
import { scheduleFireKind } from "../lib/scheduler/kinds.ts";
import type { Scheduler } from "../lib/scheduler/service.ts";

export function scheduleFireJob(scheduler: Scheduler) {
  return defineJob(scheduleFireKind, {
    async handle(payload, ctx) {
      await scheduler.fire(payload, { org: ctx.org, envelopeId: ctx.id });
    },
  });
}
