/**
 * The registry of queue handlers and cron jobs. Each capability adds one
 * line to each function; handlers live one kind per file next to this one.
 */
import type { Hub } from "../lib/hub.ts";
import { scheduleFireJob } from "./schedule_fire.ts";
import { registerSchedulerCron } from "./schedule_tick.ts";
import { bitrixCacheRefreshJob, registerBitrixCacheCron } from "./bitrix_cache_refresh.ts";
import { registerEnrichmentJobs } from "./task_process.ts";
import { registerNotifyCrons, registerNotifyJobs } from "./notify_jobs.ts";

/** Registers every queue message kind's handler. */
export function registerJobs(hub: Hub): void {
  hub.queue.register(scheduleFireJob(hub));
  hub.queue.register(bitrixCacheRefreshJob(hub));
  registerEnrichmentJobs(hub);
  registerNotifyJobs(hub);
}

/** Registers every Deno.cron job (skipped when SHLYUZ_DISABLE_CRON is set). */
export function registerCrons(hub: Hub): void {
  registerSchedulerCron(hub);
  registerBitrixCacheCron(hub);
  registerNotifyCrons(hub);
}
