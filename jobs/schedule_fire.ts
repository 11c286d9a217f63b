/**
 * `schedule.fire`: runs one occurrence of a schedule. Idempotent: the fire
 * claims (schedule, planned time) in KV before it runs, so a redelivered or
 * duplicate message is a no-op. The target's failures are recorded in the run
 * history, not thrown; only KV failures throw (and are retried by the queue).
 */
import type { Hub } from "../lib/hub.ts";
import { defineJob } from "../lib/queue/queue.ts";
import { FIRE_KIND, firePayloadSchema, type Scheduler } from "../lib/scheduler/mod.ts";

/** The scheduler of a hub (created in `createHub`). */
export function schedulerOf(hub: Hub): Scheduler {
  if (!hub.scheduler) throw new Error("Cannot use the Scheduler: createHub did not build hub.scheduler");
  return hub.scheduler;
}

export function scheduleFireJob(hub: Hub) {
  return defineJob({
    kind: FIRE_KIND,
    payload: firePayloadSchema,
    async handle(payload, ctx) {
      await schedulerOf(hub).fire(payload, { org: ctx.org, envelopeId: ctx.id });
    },
  });
}
