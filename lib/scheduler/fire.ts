/**
 * Firing one occurrence. The handler re-reads the schedule (so edits and
 * disabling take effect at once), drops fires that no longer belong to the
 * current cron, claims the occurrence with a dedupe key (schedule, planned
 * time) in the same atomic commit that records the run as running — so each
 * occurrence runs once however many messages carry it — then runs the action
 * and saves the outcome, publishing `schedule.run` or `schedule.failed`.
 */
import type { Clock } from "../clock.ts";
import type { EventBus } from "../events/bus.ts";
import type { FetchFn } from "../http/request.ts";
import { newId } from "../ids.ts";
import { dedupeKey } from "../kv/dedupe.ts";
import type { Logger } from "../log.ts";
import { InvalidMessageError, type QueueFor } from "../queue/queue.ts";
import type { SchedulerKinds } from "./kinds.ts";
import { runHttpAction } from "./http_action.ts";
import { isOccurrence, nextOccurrence } from "./occurrences.ts";
import { runKey, type RunStore } from "./runs.ts";
import type { FirePayload, Run, RunOutcome, Schedule } from "./schedule_schema.ts";
import type { ScheduleStore } from "./store.ts";
import { LATE_TOLERANCE_MS } from "./tick.ts";
import type { AddressPolicy } from "../http/url_guard.ts";
import { labelledFetch } from "../http/instrumented_fetch.ts";

const CLAIM_TTL = 7 * 24 * 60 * 60 * 1000;

export interface FireDeps {
  kv: Deno.Kv;
  queue: Pick<QueueFor<SchedulerKinds>, "enqueueDynamic">;
  events: Pick<EventBus, "publish">;
  /** The organization's outgoing-address policy (its setting within the operator's ceiling). */
  addressPolicy(org: string): Promise<AddressPolicy>;
  store: ScheduleStore;
  runs: RunStore;
  clock: Clock;
  fetch: FetchFn;
  log: Logger;
  responseLimit: number;
}

interface Claim {
  runId: string;
  envelopeId: string;
}

interface Lease {
  runId: string;
  until: number;
}

function leaseKey(org: string, id: string): Deno.KvKey {
  return ["sched_lease", org, id];
}

/** The dedupe key of one occurrence (manual runs are keyed by their run id). */
export function occurrenceKey(org: string, p: FirePayload): Deno.KvKey {
  const part = p.trigger === "manual" ? `manual:${p.runId}` : p.plannedAt;
  return dedupeKey("schedule.fire", org, p.scheduleId, part);
}

/** The event type a finished run publishes. */
export function eventTypeOf(outcome: RunOutcome): "schedule.run" | "schedule.failed" {
  return outcome === "failed" || outcome === "timeout" ? "schedule.failed" : "schedule.run";
}

/**
 * Handles one `schedule.fire` message. Returns the run it recorded, or null
 * when there was nothing to do (duplicate, stale, disabled, deleted).
 */
export async function fireOccurrence(
  deps: FireDeps,
  p: FirePayload,
  { org, envelopeId }: { org: string; envelopeId: string },
): Promise<Run | null> {
  const occKey = occurrenceKey(org, p);
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = deps.clock.now();
    const entry = await deps.store.entry(org, p.scheduleId);
    const schedule = entry.value;
    if (!schedule) return await failQueuedManual(deps, org, p, "the schedule was deleted");
    if (p.trigger !== "manual") {
      if (!schedule.enabled) return null;
      // A fire planned under an older revision still runs if the occurrence belongs to the current cron.
      if (p.revision !== schedule.revision && !isOccurrence(schedule, p.plannedAt)) return null;
    }
    const [occ, lease] = await deps.kv.getMany<[Claim, Lease]>([occKey, leaseKey(org, schedule.id)]);
    if (occ.value) {
      // Same envelope again: the process stopped mid-run. Do not call the target twice; close the record.
      if (occ.value.envelopeId === envelopeId) await closeInterrupted(deps, org, occ.value.runId);
      return null;
    }
    const run = baseRun(schedule, p, now, envelopeId);
    const late = now - p.plannedAt;
    if (p.trigger === "schedule" && late > LATE_TOLERANCE_MS) {
      const next = nextOccurrence(schedule, p.plannedAt);
      if (schedule.catchUp === "skip") {
        finish(run, "missed", now, `fired ${Math.round(late / 1000)} s late (catch-up policy is skip)`);
        run.missedCount = 1;
      } else if (next !== null && next <= now) {
        finish(run, "missed", now, "a later occurrence is also past due; only the latest one catches up");
        run.missedCount = 1;
      } else {
        run.trigger = "catch_up";
      }
    }
    if (run.outcome === "running" && schedule.overlap === "skip" && lease.value && lease.value.until > now) {
      finish(run, "skipped", now, `the previous run ${lease.value.runId} is still running (overlap policy is skip)`);
    }
    const op = deps.kv.atomic().check(occ).check(lease).check(entry)
      .set(occKey, { runId: run.id, envelopeId } satisfies Claim, { expireIn: CLAIM_TTL });
    deps.runs.put(op, run);
    const holdsLease = run.outcome === "running" && schedule.overlap === "skip";
    if (holdsLease) op.set(leaseKey(org, schedule.id), { runId: run.id, until: now + leaseBudget(schedule) });
    if (!(await op.commit()).ok) continue;
    if (run.outcome !== "running") {
      await publish(deps, run);
      return run;
    }
    return await execute(deps, schedule, run, holdsLease);
  }
  throw new Error(`Cannot fire schedule ${p.scheduleId}: the KV commit kept conflicting`);
}

async function execute(deps: FireDeps, schedule: Schedule, run: Run, holdsLease: boolean): Promise<Run> {
  const started = deps.clock.now();
  run.startedAt = new Date(started).toISOString();
  try {
    if (schedule.action.type === "http") {
      const result = await runHttpAction({
        method: schedule.action.method,
        url: schedule.action.url,
        headers: await deps.store.openHeaders(schedule),
        body: schedule.action.body,
      }, {
        fetch: labelledFetch(deps.fetch, { org: schedule.org, service: "scheduler" }),
        clock: deps.clock,
        timeoutMs: schedule.timeoutMs,
        retry: schedule.retry,
        policy: await deps.addressPolicy(schedule.org),
        responseLimit: deps.responseLimit,
      });
      run.attempts = result.attempts;
      run.httpStatus = result.status;
      run.responseBody = result.body;
      run.responseBytes = result.bytes;
      run.responseTruncated = result.truncated;
      finish(run, result.outcome, deps.clock.now(), result.reason);
    } else {
      const { job, payload } = schedule.action;
      // The kind and payload are the tenant's: checked against the kind's schema now (the schedule may
      // be older than a change of it), and a refusal is the run's outcome, not a retry.
      try {
        run.attempts = 1;
        run.jobId = await deps.queue.enqueueDynamic(job, payload, { org: schedule.org });
        finish(run, "ok", deps.clock.now());
      } catch (error) {
        if (!(error instanceof InvalidMessageError)) throw error;
        delete run.attempts;
        finish(run, "failed", deps.clock.now(), error.message);
      }
    }
  } catch (error) {
    finish(run, "failed", deps.clock.now(), error instanceof Error ? error.message : String(error));
  }
  run.durationMs = Math.max(0, deps.clock.now() - started);
  const op = deps.kv.atomic();
  deps.runs.put(op, run);
  if (holdsLease) {
    const lease = await deps.kv.get<Lease>(leaseKey(schedule.org, schedule.id));
    if (lease.value?.runId === run.id) op.check(lease).delete(lease.key);
  }
  if (!(await op.commit()).ok) await deps.runs.save(run); // the lease changed hands; the record still counts
  await publish(deps, run);
  return run;
}

function baseRun(s: Schedule, p: FirePayload, now: number, envelopeId: string): Run {
  return {
    id: p.trigger === "manual" && p.runId ? p.runId : newId(now),
    org: s.org,
    scheduleId: s.id,
    scheduleName: s.name,
    revision: s.revision,
    timezone: s.timezone,
    trigger: p.trigger,
    plannedAt: new Date(p.plannedAt).toISOString(),
    outcome: "running",
    envelopeId,
  };
}

function finish(run: Run, outcome: RunOutcome, now: number, reason?: string) {
  run.outcome = outcome;
  run.finishedAt = new Date(now).toISOString();
  if (reason) run.reason = reason;
}

/** How long a run may hold the overlap lease before it is presumed dead. */
function leaseBudget(s: Schedule): number {
  const waits = s.retry.backoffMs * 16 * s.retry.attempts;
  return s.timeoutMs * (s.retry.attempts + 1) + waits + 60_000;
}

async function publish(deps: FireDeps, run: Run) {
  try {
    await deps.events.publish(run.org, eventTypeOf(run.outcome), {
      runId: run.id,
      scheduleId: run.scheduleId,
      scheduleName: run.scheduleName,
      outcome: run.outcome,
      trigger: run.trigger,
      plannedAt: run.plannedAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      durationMs: run.durationMs,
      httpStatus: run.httpStatus,
      timezone: run.timezone,
      reason: run.reason,
    });
  } catch (error) {
    deps.log.error("cannot publish schedule event", { runId: run.id, error });
  }
}

async function closeInterrupted(deps: FireDeps, org: string, runId: string) {
  const entry = await deps.kv.get<Run>(runKey(org, runId));
  if (entry.value?.outcome !== "running") return;
  const run = { ...entry.value };
  finish(run, "failed", deps.clock.now(), "interrupted: the hub stopped during the run; not repeated");
  await deps.runs.save(run);
  await publish(deps, run);
}

async function failQueuedManual(deps: FireDeps, org: string, p: FirePayload, why: string): Promise<null> {
  if (p.trigger !== "manual" || !p.runId) return null;
  const run = await deps.runs.get(org, p.runId);
  if (run?.outcome === "queued") {
    finish(run, "failed", deps.clock.now(), `Cannot run: ${why}`);
    await deps.runs.save(run);
    await publish(deps, run);
  }
  return null;
}
