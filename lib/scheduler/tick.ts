/**
 * Planning: each minute the tick enqueues one `schedule.fire` message per
 * occurrence of the coming minute, with the exact delay, and moves the
 * schedule's "planned through" watermark forward in the same atomic commit.
 * The commit checks the watermark it read, so when two ticks race (two
 * processes, two isolates) only one of them enqueues a given window.
 *
 * A watermark in the past means the hub was not running: occurrences older than
 * the late tolerance are recorded as missed, and with the catch-up policy
 * `once` the latest of them runs at once.
 */
import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { QueueFor } from "../queue/queue.ts";
import type { SchedulerKinds } from "./kinds.ts";
import { countIn, floorMinute, occurrencesIn } from "./occurrences.ts";
import type { RunStore } from "./runs.ts";
import type { FirePayload, Run, Schedule } from "./schedule_schema.ts";
import { planKey, type PlanMark, scheduleKey, type ScheduleStore } from "./store.ts";

/** Occurrences at most this late are still fired; older ones follow the catch-up policy. */
export const LATE_TOLERANCE_MS = 60_000;

export interface PlanDeps {
  kv: Deno.Kv;
  queue: Pick<QueueFor<SchedulerKinds>, "stage">;
  runs: RunStore;
  store: ScheduleStore;
  clock: Clock;
  log: Logger;
}

export interface PlanResult {
  scheduleId: string;
  /** Planned times enqueued (epoch ms). */
  enqueued: number[];
  /** Occurrences recorded as missed. */
  missed: number;
  /** The occurrence enqueued to catch up, if any. */
  catchUp?: number;
}

export interface TickReport {
  schedules: number;
  enqueued: number;
  missed: number;
  durationMs: number;
}

/** End of the planning window: the end of the minute after the current one. */
export function horizonOf(now: number): number {
  return floorMinute(now) + 120_000;
}

/**
 * Adds to `op` the fires of `[from, horizon)` and the new watermark. Parts of
 * the window older than the late tolerance are handled as missed.
 */
export function addPlan(
  op: Deno.AtomicOperation,
  deps: Pick<PlanDeps, "queue" | "runs">,
  schedule: Schedule,
  { from, now, horizon, memo }: { from: number; now: number; horizon: number; memo?: OccurrenceMemo },
): PlanResult {
  const result: PlanResult = { scheduleId: schedule.id, enqueued: [], missed: 0 };
  const lateLimit = now - LATE_TOLERANCE_MS;
  if (from < lateLimit) {
    const gap = countIn(schedule, from, lateLimit);
    if (gap.count > 0 && gap.last !== undefined) {
      let missedCount = gap.count;
      if (schedule.catchUp === "once") {
        result.catchUp = gap.last;
        missedCount--;
        enqueueFire(op, deps, schedule, gap.last, now, "catch_up");
      }
      if (missedCount > 0) {
        deps.runs.put(op, missedRun(schedule, { ...gap, count: missedCount, now }));
        result.missed = missedCount;
      }
    }
  }
  for (const t of memoized(memo, schedule, Math.max(from, lateLimit), horizon)) {
    enqueueFire(op, deps, schedule, t, now, "schedule");
    result.enqueued.push(t);
  }
  op.set(planKey(schedule.org, schedule.id), { through: horizon } satisfies PlanMark);
  return result;
}

/**
 * Occurrences computed once per (cron, zone, window) within one tick: croner's
 * nextRun costs ≈ 0.2 ms, and many schedules share a cron and a zone.
 */
export type OccurrenceMemo = Map<string, number[]>;

function memoized(memo: OccurrenceMemo | undefined, s: Schedule, from: number, to: number): number[] {
  if (!memo) return occurrencesIn(s, from, to);
  const key = `${s.cron}\u0000${s.timezone}\u0000${from}\u0000${to}`;
  let list = memo.get(key);
  if (!list) memo.set(key, list = occurrencesIn(s, from, to));
  return list;
}

function enqueueFire(
  op: Deno.AtomicOperation,
  deps: Pick<PlanDeps, "queue">,
  s: Schedule,
  plannedAt: number,
  now: number,
  trigger: FirePayload["trigger"],
) {
  const payload: FirePayload = { scheduleId: s.id, plannedAt, revision: s.revision, trigger };
  deps.queue.stage(op, { kind: "schedule.fire", payload, org: s.org, delayMs: Math.max(0, plannedAt - now) });
}

function missedRun(
  s: Schedule,
  gap: { count: number; first?: number; last?: number; capped: boolean; now: number },
): Run {
  const policy = s.catchUp === "once"
    ? "catch-up policy is once: the latest occurrence runs now"
    : "catch-up policy is skip";
  return {
    id: newId(gap.now),
    org: s.org,
    scheduleId: s.id,
    scheduleName: s.name,
    revision: s.revision,
    timezone: s.timezone,
    trigger: "schedule",
    plannedAt: new Date(gap.first ?? gap.now).toISOString(),
    lastMissedAt: gap.last !== undefined ? new Date(gap.last).toISOString() : undefined,
    finishedAt: new Date(gap.now).toISOString(),
    outcome: "missed",
    missedCount: gap.count,
    missedCountCapped: gap.capped || undefined,
    reason: `${
      gap.capped ? "at least " : ""
    }${gap.count} occurrence(s) missed while the hub was not running (${policy})`,
  };
}

/**
 * Plans one schedule up to the horizon of `now`. Returns null when there was
 * nothing to do (already planned by another tick, disabled or deleted).
 */
export async function planSchedule(
  deps: PlanDeps,
  entry: Deno.KvEntry<Schedule> | Deno.KvEntryMaybe<Schedule>,
  now: number,
  memo?: OccurrenceMemo,
): Promise<PlanResult | null> {
  const horizon = horizonOf(now);
  for (let attempt = 0; attempt < 5; attempt++) {
    const schedule = entry.value;
    if (!schedule || !schedule.enabled) return null;
    const plan = await deps.kv.get<PlanMark>(planKey(schedule.org, schedule.id));
    const from = plan.value?.through ?? now;
    if (from >= horizon) return null;
    const op = deps.kv.atomic().check(plan).check(entry);
    const result = addPlan(op, deps, schedule, { from, now, horizon, memo });
    if ((await op.commit()).ok) return result;
    // Another tick or an edit got there first: look again with fresh data.
    entry = await deps.kv.get<Schedule>(scheduleKey(schedule.org, schedule.id));
  }
  deps.log.warn("could not plan schedule after 5 tries (heavy contention)", { id: entry.value?.id });
  return null;
}

/** One tick: plans every enabled schedule of every organization. */
export async function tick(
  deps: PlanDeps,
  { now = deps.clock.now(), concurrency = 16 }: { now?: number; concurrency?: number } = {},
): Promise<TickReport> {
  const started = performance.now();
  const report: TickReport = { schedules: 0, enqueued: 0, missed: 0, durationMs: 0 };
  const memo: OccurrenceMemo = new Map();
  let batch: Promise<void>[] = [];
  const one = async (entry: Deno.KvEntry<Schedule>) => {
    try {
      const r = await planSchedule(deps, entry, now, memo);
      if (r) {
        report.enqueued += r.enqueued.length + (r.catchUp !== undefined ? 1 : 0);
        report.missed += r.missed;
      }
    } catch (error) {
      deps.log.error("planning a schedule failed", { id: entry.value.id, org: entry.value.org, error });
    }
  };
  for await (const entry of deps.store.all()) {
    if (!entry.value.enabled) continue;
    report.schedules++;
    batch.push(one(entry));
    if (batch.length >= concurrency) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  report.durationMs = performance.now() - started;
  return report;
}
