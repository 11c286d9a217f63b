/**
 * The Scheduler: cron schedules with time zones that call HTTP endpoints or
 * enqueue Shlyuz jobs, fired exactly once per occurrence, with run history.
 */
export { Scheduler, type SchedulerDeps, type ScheduleView } from "./service.ts";
export { eventTypeOf, fireOccurrence } from "./fire.ts";
export { FIRE_KIND, horizonOf, LATE_TOLERANCE_MS, type TickReport } from "./tick.ts";
export { formatInZone, isTimeZone, nextOccurrence, occurrencesIn } from "./occurrences.ts";
export { classifyAddress, urlProblem } from "../http/url_guard.ts";
export * from "./schedule_schema.ts";
