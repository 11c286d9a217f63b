/**
 * Per-area health and hourly series for the Overview. What is read and why:
 * - schedule runs, the 1C intake log and dead letters are few (a run a minute
 *   per schedule, a request per 1C save, failures only): bounded scans of the
 *   last 24 h of their time-ordered keys (ULIDs), at most SCAN_CAP entries each;
 * - enrichment results can be thousands an hour: counters summed at write
 *   time in the commit that settles the tasks (`["taskstat_h", org, hour, outcome]`).
 */
import type { Hub } from "../hub.ts";
import type { Run } from "../scheduler/schedule_schema.ts";
import type { LogEntry } from "../onec/store.ts";
import type { DeadLetter } from "../queue/dead_letters.ts";
import type { ResultEntry } from "../enrichment/task_state.ts";
import { previousOccurrence } from "../scheduler/occurrences.ts";
import { bucketIndex, HOUR } from "./time.ts";
import { idFloor } from "../ids.ts";
import type { AreaCard, Attention, ChartSpec, Health } from "./types.ts";

/** Most entries one area reads per dashboard (a bounded scan). */
export const SCAN_CAP = 5000;
/** A message is overdue when it is this much past its time and still not handled. */
export const OVERDUE_GRACE_MS = 2 * 60_000;

export type DashHub = Pick<Hub, "kv" | "clock" | "scheduler" | "queue">;

export interface AreaResult {
  card: AreaCard;
  charts: ChartSpec[];
  truncated: boolean;
  overdue?: number;
}

const zeros = (n: number) => Array.from({ length: n }, () => 0);
const FAILED_RUN = new Set(["failed", "timeout"]);
const FINISHED_RUN = new Set(["ok", "failed", "timeout"]);

function health(failed: number, total: number, lastOk: boolean | undefined, attention: Attention[]): Health {
  if (lastOk === false) return "fail";
  if (failed > 0 || attention.length > 0) return "warn";
  return total === 0 && lastOk === undefined ? "idle" : "ok";
}

/** Entries of a ULID-keyed prefix made at or after `from`, newest first, at most `cap`. */
async function scanSince<T>(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  from: number,
  cap = SCAN_CAP,
): Promise<{ values: T[]; truncated: boolean }> {
  const values: T[] = [];
  const iter = kv.list<T>({ prefix, start: [...prefix, idFloor(from)] }, {
    reverse: true,
    limit: cap + 1,
    batchSize: 500,
  });
  for await (const e of iter) values.push(e.value);
  const truncated = values.length > cap;
  return { values: truncated ? values.slice(0, cap) : values, truncated };
}

/** Scheduler: success and failures per hour, mean duration, overdue and failing schedules. */
export async function schedulerArea(hub: DashHub, org: string, hours: number[]): Promise<AreaResult> {
  const now = hub.clock.now();
  const { values: runs, truncated } = await scanSince<Run>(hub.kv, ["sched_run", org], hours[0]);
  const ok = zeros(hours.length), failed = zeros(hours.length);
  const durSum = zeros(hours.length), durN = zeros(hours.length);
  let last: AreaCard["last"];
  for (const r of runs) {
    if (!FINISHED_RUN.has(r.outcome)) continue;
    const at = Date.parse(r.finishedAt ?? r.plannedAt);
    const i = bucketIndex(hours, at);
    if (!last) last = { at: new Date(at).toISOString(), ok: r.outcome === "ok", label: r.scheduleName };
    if (i < 0) continue;
    if (FAILED_RUN.has(r.outcome)) failed[i]++;
    else ok[i]++;
    if (typeof r.durationMs === "number") {
      durSum[i] += r.durationMs;
      durN[i]++;
    }
  }
  const attention: Attention[] = [];
  const schedules = hub.scheduler ? await hub.scheduler.store.list(org) : [];
  let overdue = 0;
  let failing = 0;
  for (const s of schedules) {
    const newest = await newestRun(hub.kv, org, s.id);
    if (newest && FAILED_RUN.has(newest.outcome)) {
      failing++;
      if (failing === 1) attention.push({ code: "schedule_failing", name: s.name, href: `/admin/scheduler/${s.id}` });
    }
    if (!s.enabled) continue;
    // Overdue: the latest occurrence whose time came (with grace) has no run, skip or miss record yet.
    const due = previousOccurrence(s, now - OVERDUE_GRACE_MS);
    if (due === null || due < Math.max(Date.parse(s.updatedAt), now - 24 * HOUR)) continue;
    if (!newest || Date.parse(newest.plannedAt) < due) overdue++;
  }
  if (failing > 1) attention[attention.length - 1] = { code: "schedules_failing", count: failing };
  if (overdue) attention.push({ code: "schedules_overdue", count: overdue, href: "/admin/scheduler" });
  const f24 = failed.reduce((a, b) => a + b, 0);
  const total = f24 + ok.reduce((a, b) => a + b, 0);
  const rate = ok.map((n, i) => (n + failed[i] ? Math.round((n / (n + failed[i])) * 1000) / 10 : null));
  return {
    card: {
      key: "scheduler",
      href: "/admin/scheduler",
      health: health(f24, total, last?.ok, attention),
      last,
      total24h: total,
      failed24h: f24,
      attention,
    },
    charts: [
      {
        key: "scheduler_runs",
        title: "overview.chart.scheduler_runs",
        rightUnit: "%",
        series: [
          { label: "overview.series.ok", values: ok, color: "#2e7d32", kind: "bars" },
          { label: "overview.series.failed", values: failed, color: "#c62828", kind: "bars" },
          { label: "overview.series.success_rate", values: rate, color: "#1565c0", kind: "line", right: true },
        ],
      },
      {
        key: "scheduler_duration",
        title: "overview.chart.scheduler_duration",
        series: [{
          label: "overview.series.mean_ms",
          values: durN.map((n, i) => (n ? Math.round(durSum[i] / n) : null)),
          color: "#6a1b9a",
          kind: "line",
        }],
      },
    ],
    truncated,
    overdue,
  };
}

/** The run of the latest occurrence among the newest few records (a catch-up can be written after a later run). */
async function newestRun(kv: Deno.Kv, org: string, scheduleId: string): Promise<Omit<Run, "responseBody"> | null> {
  let newest: Omit<Run, "responseBody"> | null = null;
  for await (const e of kv.list<Run>({ prefix: ["sched_runs", org, scheduleId] }, { reverse: true, limit: 5 })) {
    if (!newest || e.value.plannedAt > newest.plannedAt) newest = e.value;
  }
  return newest;
}

/** Enrichment: done and failed per hour from the write-time counters; overdue task batches from the inbox. */
export async function enrichmentArea(hub: DashHub, org: string, hours: number[]): Promise<AreaResult> {
  const now = hub.clock.now();
  const done = zeros(hours.length), failed = zeros(hours.length);
  for await (
    const e of hub.kv.list<Deno.KvU64>({ prefix: ["taskstat_h", org], start: ["taskstat_h", org, hours[0]] })
  ) {
    const [, , hour, outcome] = e.key as [string, string, number, string];
    const i = bucketIndex(hours, hour);
    if (i < 0) continue;
    (outcome === "done" ? done : failed)[i] += Number(e.value.value);
  }
  // The newest outcome: the newest result, or a newer failed task (a dead letter of task.process).
  let last: AreaCard["last"];
  for await (const e of hub.kv.list<ResultEntry>({ prefix: ["result", org] }, { reverse: true, limit: 1 })) {
    last = { at: e.value.at, ok: true, label: `${e.value.task_type} #${e.value.task_id}` };
  }
  const dead = await hub.queue.dead.list(org, { kind: "task.process", limit: 1 });
  const lastDead = dead.items[0];
  if (lastDead?.failedAt && (!last || lastDead.failedAt > last.at)) {
    last = { at: lastDead.failedAt, ok: false, label: lastDead.reason.slice(0, 120) };
  }
  // Task batches whose time came and that no handler settled (the inbox keeps one record per message).
  let overdue = 0;
  let scanned = 0;
  for await (const e of hub.kv.list<{ org: string; at: number }>({ prefix: ["inbox"] }, { batchSize: 500 })) {
    if (++scanned > SCAN_CAP) break;
    if (e.value.org === org && e.value.at < now - OVERDUE_GRACE_MS) overdue++;
  }
  const f24 = failed.reduce((a, b) => a + b, 0);
  const total = f24 + done.reduce((a, b) => a + b, 0);
  const attention: Attention[] = [];
  if (f24) {
    attention.push({ code: "tasks_failed", count: f24, href: "/admin/executions?area=enrichment&outcome=failed" });
  }
  if (overdue) attention.push({ code: "tasks_overdue", count: overdue });
  return {
    card: {
      key: "enrichment",
      href: "/admin/enrichment",
      health: health(f24, total, last?.ok, attention),
      last,
      total24h: total,
      failed24h: f24,
      attention,
    },
    charts: [{
      key: "enrichment_throughput",
      title: "overview.chart.enrichment",
      rightUnit: "%",
      series: [
        { label: "overview.series.done", values: done, color: "#2e7d32", kind: "bars" },
        { label: "overview.series.failed", values: failed, color: "#c62828", kind: "bars" },
        {
          label: "overview.series.error_rate",
          values: done.map((n, i) => (n + failed[i] ? Math.round((failed[i] / (n + failed[i])) * 1000) / 10 : null)),
          color: "#ef6c00",
          kind: "line",
          right: true,
        },
      ],
    }],
    truncated: scanned > SCAN_CAP,
    overdue,
  };
}

/** 1C → Bitrix24: requests per hour, failed ones, tasks that went to the fallback responsible. */
export async function onecArea(
  hub: DashHub,
  org: string,
  hours: number[],
  { configured }: { configured: boolean },
): Promise<AreaResult> {
  const { values: log, truncated } = await scanSince<LogEntry>(hub.kv, ["onec_log", org], hours[0]);
  const requests = zeros(hours.length), failed = zeros(hours.length), fallbacks = zeros(hours.length);
  for (const entry of log) {
    const i = bucketIndex(hours, Date.parse(entry.at));
    if (i < 0) continue;
    requests[i]++;
    if (entry.outcome !== "ok") failed[i]++;
    fallbacks[i] += entry.tasks.filter((t) => t.unassigned).length;
  }
  const newest = log[0];
  const last = newest
    ? { at: newest.at, ok: newest.outcome === "ok", label: newest.tasks.map((t) => t.onecId).join(", ").slice(0, 120) }
    : undefined;
  const f24 = failed.reduce((a, b) => a + b, 0);
  const fb = fallbacks.reduce((a, b) => a + b, 0);
  const attention: Attention[] = [];
  if (!configured) attention.push({ code: "bitrix_missing", href: "/admin/onec" });
  if (f24) attention.push({ code: "onec_failed", count: f24, href: "/admin/executions?area=onec&outcome=failed" });
  if (fb) attention.push({ code: "onec_fallbacks", count: fb, href: "/admin/onec" });
  return {
    card: {
      key: "onec",
      href: "/admin/onec",
      health: health(f24, log.length, last?.ok, attention),
      last,
      total24h: requests.reduce((a, b) => a + b, 0),
      failed24h: f24,
      attention,
    },
    charts: [{
      key: "onec_requests",
      title: "overview.chart.onec",
      series: [
        { label: "overview.series.requests", values: requests, color: "#1565c0", kind: "bars" },
        { label: "overview.series.failed", values: failed, color: "#c62828", kind: "bars" },
        { label: "overview.series.fallbacks", values: fallbacks, color: "#ef6c00", kind: "line" },
      ],
    }],
    truncated,
  };
}

/** Dead letters: how many failed for good per hour, and how many wait for a re-drive. */
export async function deadArea(hub: DashHub, org: string, hours: number[]): Promise<AreaResult> {
  // Keyed by envelope id (when the message was made, not when it failed): read the newest few
  // thousand and bucket by `failedAt`. Dead letters are failures only, so this stays small.
  const { items } = await hub.queue.dead.list(org, { limit: SCAN_CAP });
  const count = zeros(hours.length);
  for (const d of items) {
    const i = d.failedAt ? bucketIndex(hours, Date.parse(d.failedAt)) : -1;
    if (i >= 0) count[i]++;
  }
  const newest = items.reduce<DeadLetter | undefined>(
    (a, d) => (d.failedAt && (!a || d.failedAt > a.failedAt) ? d : a),
    undefined,
  );
  const f24 = count.reduce((a, b) => a + b, 0);
  const attention: Attention[] = [];
  if (items.length) attention.push({ code: "dead_waiting", count: items.length, href: "/admin/executions?area=dead" });
  return {
    card: {
      key: "dead",
      href: "/admin/executions?area=dead",
      health: items.length ? (f24 ? "fail" : "warn") : "ok",
      last: newest
        ? { at: newest.failedAt, ok: false, label: `${newest.kind}: ${newest.reason}`.slice(0, 120) }
        : undefined,
      total24h: f24,
      failed24h: f24,
      attention,
    },
    charts: [{
      key: "dead_letters",
      title: "overview.chart.dead",
      series: [{ label: "overview.series.dead", values: count, color: "#c62828", kind: "bars" }],
    }],
    truncated: items.length >= SCAN_CAP,
  };
}
