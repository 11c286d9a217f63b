/**
 * The Scheduler capability (`hub.scheduler`): cron schedules with time zones
 * that call HTTP endpoints or enqueue Shlyuz jobs, fired exactly once per
 * occurrence, with run history. Registers `schedule.fire` and the minute tick
 * (plus one tick at start-up, once the queue listener is up).
 */
import { defineCapability } from "../capability.ts";
import type { CoreHub } from "../hub.ts";
import { schedulerKinds } from "./kinds.ts";
import { Scheduler, type SchedulerDeps } from "./service.ts";
import { scheduleFireJob } from "../../jobs/schedule_fire.ts";
import { registerSchedulerCron } from "../../jobs/schedule_tick.ts";

export { Scheduler, type SchedulerDeps, type ScheduleView } from "./service.ts";
export { eventTypeOf, fireOccurrence } from "./fire.ts";
export { horizonOf, LATE_TOLERANCE_MS, type TickReport } from "./tick.ts";
export { formatInZone, isTimeZone, nextOccurrence, occurrencesIn } from "./occurrences.ts";
export { classifyAddress, urlProblem } from "../http/url_guard.ts";
export * from "./schedule_schema.ts";

/** Test seams: a DNS resolver for the address policy on HTTP actions. */
export type SchedulerOptions = Pick<SchedulerDeps, "resolve">;

export const scheduler = defineCapability({
  name: "scheduler",
  kinds: schedulerKinds,
  register(hub: CoreHub, options: SchedulerOptions = {}): Promise<Scheduler> {
    const svc = new Scheduler({ ...hub, ...options });
    hub.queue.register(scheduleFireJob(svc));
    registerSchedulerCron(hub, svc);
    return Promise.resolve(svc);
  },
});
