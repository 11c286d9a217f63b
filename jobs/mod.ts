/**
 * The registry of queue handlers and cron jobs. Each capability adds one
 * line to each function; handlers live one kind per file next to this one.
 */
import type { Hub } from "../lib/hub.ts";
import { registerEnrichmentJobs } from "./task_process.ts";

/** Registers every queue message kind's handler. */
export function registerJobs(hub: Hub): void {
  registerEnrichmentJobs(hub);
}

/** Registers every Deno.cron job (skipped when SHLYUZ_DISABLE_CRON is set). */
export function registerCrons(_hub: Hub): void {
}
