/**
 * The executions journal: one newest-first list over the stores that exist —
 * schedule runs (`["sched_run", org, ulid]`), enrichment results
 * (`["result", org, ulid]`), the 1C intake log (`["onec_log", org, ulid]`) and
 * dead letters (`["dead", org, id]`, which also hold failed enrichment tasks).
 * Nothing is copied: every store is keyed by a ULID, so one cursor (a ULID)
 * and one time range bound all four scans. Filters that keep few rows (an id
 * search, "failed only") read at most READ_CAP records per store per page and
 * hand back a cursor to read further.
 *
 * @example
 * const page = await listExecutions(hub, org, { area: "scheduler", outcome: "failed" });
 * await retryExecutions(hub, org, page.items.map((r) => r.ref), { actor });
 */
import type { Hub } from "../hub.ts";
import type { Actor } from "../accounts/audit.ts";
import { audit } from "../accounts/audit.ts";
import type { Run } from "../scheduler/schedule_schema.ts";
import { idFloor } from "../ids.ts";
import { deadRow, type Indexed, onecRow, resultRow, runRow } from "./rows.ts";
import type { DeadLetter } from "../queue/dead_letters.ts";
import type { ExecArea, ExecutionFilter, ExecutionPage, ExecutionRow, RetryOutcome, RetryReport } from "./types.ts";

export * from "./types.ts";

/** Most records one store is read for per page when a filter skips rows. */
export const READ_CAP = 2000;
/** Most rows one bulk retry touches. */
export const BULK_MAX = 500;

type ExecHub = Pick<Hub, "kv" | "queue" | "scheduler">;

interface Source {
  prefix: (org: string) => Deno.KvKey;
  /** Area filters that may find rows here (the dead-letter store serves every area). */
  areas: readonly ExecArea[];
  toRow(value: unknown, opts: { payloads: boolean }): Indexed;
}

const SOURCES: Source[] = [
  { prefix: (o) => ["sched_run", o], areas: ["scheduler"], toRow: (v) => runRow(v as Run) },
  { prefix: (o) => ["result", o], areas: ["enrichment"], toRow: (v) => resultRow(v as never) },
  { prefix: (o) => ["onec_log", o], areas: ["onec"], toRow: (v) => onecRow(v as never) },
  {
    prefix: (o) => ["dead", o],
    areas: ["scheduler", "enrichment", "onec", "dead"],
    toRow: (v, opts) => deadRow(v as DeadLetter, opts),
  },
];

export interface ListOptions {
  limit?: number;
  cursor?: string;
  /** Include dead letters' payloads in the details (operators and above). */
  payloads?: boolean;
}

function matches({ row, ids }: Indexed, f: ExecutionFilter): boolean {
  if (f.area && row.area !== f.area && !(f.area === "dead" && row.dead)) return false;
  if (f.outcome && row.outcome !== f.outcome) return false;
  if (f.q) {
    const q = f.q.trim().toLowerCase();
    if (q && !ids.some((id) => id.includes(q))) return false;
  }
  return true;
}

/** One page of the journal, newest first. */
export async function listExecutions(
  hub: ExecHub,
  org: string,
  filter: ExecutionFilter = {},
  { limit = 50, cursor, payloads = false }: ListOptions = {},
): Promise<ExecutionPage> {
  const lower = filter.from ? idFloor(Date.parse(filter.from)) : undefined;
  let upper = filter.to ? idFloor(Date.parse(filter.to)) : undefined;
  if (cursor && (!upper || cursor < upper)) upper = cursor;
  if (lower && upper && lower >= upper) return { items: [] };
  const sources = SOURCES.filter((s) => !filter.area || s.areas.includes(filter.area));
  const scans = await Promise.all(sources.map(async (s) => {
    const prefix = s.prefix(org);
    // KV takes a prefix with one bound, or both bounds without the prefix.
    const selector: Deno.KvListSelector = lower && upper
      ? { start: [...prefix, lower], end: [...prefix, upper] }
      : lower
      ? { prefix, start: [...prefix, lower] }
      : upper
      ? { prefix, end: [...prefix, upper] }
      : { prefix };
    const rows: ExecutionRow[] = [];
    let read = 0;
    let last: string | undefined;
    let exhausted = true;
    for await (const e of hub.kv.list(selector, { reverse: true, batchSize: Math.min(500, limit * 2 + 10) })) {
      read++;
      last = String(e.key[e.key.length - 1]);
      const indexed = s.toRow(e.value, { payloads });
      if (matches(indexed, filter)) rows.push(indexed.row);
      if (rows.length >= limit || read >= READ_CAP) {
        exhausted = false;
        break;
      }
    }
    return { rows, last, exhausted };
  }));
  // Rows are complete down to the highest point where a store stopped reading.
  const stops = scans.filter((s) => !s.exhausted && s.last).map((s) => s.last!);
  const floor = stops.length ? stops.reduce((a, b) => (a > b ? a : b)) : undefined;
  const merged = scans.flatMap((s) => s.rows)
    .filter((r) => !floor || r.id >= floor)
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  if (merged.length > limit) return { items: merged.slice(0, limit), cursor: merged[limit - 1].id };
  return { items: merged, ...(floor ? { cursor: floor } : {}) };
}

/** Retries rows by ref: re-drives dead letters, runs a failed run's schedule again (once per schedule). */
export async function retryExecutions(
  hub: ExecHub,
  org: string,
  refs: string[],
  { actor }: { actor: Actor },
): Promise<RetryReport> {
  const results: RetryOutcome[] = [];
  const schedulesRun = new Set<string>();
  for (const ref of refs.slice(0, BULK_MAX)) {
    const [source, id] = [ref.slice(0, ref.indexOf(":")), ref.slice(ref.indexOf(":") + 1)];
    if (source === "dead") {
      const ok = await hub.queue.dead.redrive(org, id);
      if (ok) await audit(hub.kv, org, actor, "dead_letter.redriven", { target: id });
      results.push({ ref, ok, result: ok ? "redriven" : "not_found" });
    } else if (source === "run" && hub.scheduler) {
      const run = await hub.scheduler.runs.get(org, id);
      if (!run) results.push({ ref, ok: false, result: "not_found" });
      else if (run.outcome !== "failed" && run.outcome !== "timeout") {
        results.push({ ref, ok: false, result: "not_retryable" });
      } else if (schedulesRun.has(run.scheduleId)) results.push({ ref, ok: true, result: "already_queued" });
      else {
        const queued = await hub.scheduler.runNow(org, run.scheduleId);
        if (queued) {
          schedulesRun.add(run.scheduleId);
          await audit(hub.kv, org, actor, "schedule.run_now", {
            target: run.scheduleId,
            details: { runId: queued.id, retryOf: run.id },
          });
        }
        results.push({ ref, ok: Boolean(queued), result: queued ? "run_queued" : "not_found" });
      }
    } else results.push({ ref, ok: false, result: "not_retryable" });
  }
  return {
    retried: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    results,
  };
}

/** Retries every retryable failed row the filter finds (at most BULK_MAX), reading page by page. */
export async function retryMatching(
  hub: ExecHub,
  org: string,
  filter: ExecutionFilter,
  { actor }: { actor: Actor },
): Promise<RetryReport> {
  const refs: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50 && refs.length < BULK_MAX; page++) {
    const res = await listExecutions(hub, org, { ...filter, outcome: "failed" }, { limit: 200, cursor });
    for (const r of res.items) if (r.retry && refs.length < BULK_MAX) refs.push(r.ref);
    if (!res.cursor) break;
    cursor = res.cursor;
  }
  return await retryExecutions(hub, org, refs, { actor });
}
