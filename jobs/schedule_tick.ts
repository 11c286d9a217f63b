/**
 * The Scheduler's minute tick (Deno.cron `scheduler.tick`): plans the coming
 * minute of every schedule. Two processes or isolates running it at once are
 * safe: each schedule's window is claimed in one atomic commit. One tick also
 * runs at start-up, so occurrences missed while the hub was down are handled
 * (and recorded) without waiting for the first cron minute.
 */
import type { CoreHub } from "../lib/hub.ts";
import type { Scheduler } from "../lib/scheduler/service.ts";

export function registerSchedulerCron(hub: CoreHub, scheduler: Scheduler): void {
  if (hub.config.SHLYUZ_DISABLE_CRON) return;
  const log = hub.log.child("scheduler");
  hub.metrics.describe("shlyuz_scheduler_tick_seconds", "Time to plan the coming minute of every schedule");
  const run = async () => {
    const report = await scheduler.tick();
    hub.metrics.observe("shlyuz_scheduler_tick_seconds", report.durationMs / 1000);
    hub.metrics.inc("shlyuz_scheduler_fires_planned_total", {}, report.enqueued);
    if (report.missed) log.warn("occurrences missed while the hub was down", { missed: report.missed });
  };
  hub.cron("scheduler.tick", "* * * * *", run);
  hub.onStart(() => run().catch((error) => log.error("start-up tick failed", { error })));
}
