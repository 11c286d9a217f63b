/**
 * Run history: every run (and every batch of missed occurrences) is kept under
 * `["sched_run", org, runId]` with its response body, plus a summary without
 * the body under `["sched_runs", org, scheduleId, runId]` for listing. Run ids
 * are ULIDs, so listing in reverse gives the newest first. Both keys expire
 * after the configured retention.
 */
import type { Run, RunSummary } from "./schedule_schema.ts";
import { fromCursor } from "../kv/cursor.ts";

const DAY = 24 * 60 * 60 * 1000;

export function runKey(org: string, runId: string): Deno.KvKey {
  return ["sched_run", org, runId];
}

function indexKey(run: Pick<Run, "org" | "scheduleId" | "id">): Deno.KvKey {
  return ["sched_runs", run.org, run.scheduleId, run.id];
}

/** The run without its response body. */
export function summarize(run: Run): RunSummary {
  const { responseBody: _body, ...rest } = run;
  return rest;
}

export class RunStore {
  readonly #kv: Deno.Kv;
  readonly #retentionMs: number;

  constructor(kv: Deno.Kv, { retentionDays = 30 }: { retentionDays?: number } = {}) {
    this.#kv = kv;
    this.#retentionMs = retentionDays * DAY;
  }

  /** Adds the writes of `run` (record and index) to an atomic operation. */
  put(op: Deno.AtomicOperation, run: Run): Deno.AtomicOperation {
    return op
      .set(runKey(run.org, run.id), run, { expireIn: this.#retentionMs })
      .set(indexKey(run), summarize(run), { expireIn: this.#retentionMs });
  }

  /** Writes a run on its own. */
  async save(run: Run): Promise<void> {
    const res = await this.put(this.#kv.atomic(), run).commit();
    if (!res.ok) throw new Error(`Cannot save run ${run.id}: the KV commit was rejected`);
  }

  async get(org: string, runId: string): Promise<Run | null> {
    return (await this.#kv.get<Run>(runKey(org, runId))).value;
  }

  /** Runs of one schedule, newest first, without bodies. */
  async list(
    org: string,
    scheduleId: string,
    { limit = 50, cursor }: { limit?: number; cursor?: string } = {},
  ): Promise<{ items: RunSummary[]; cursor?: string }> {
    const items: RunSummary[] = [];
    const iter = this.#kv.list<RunSummary>({ prefix: ["sched_runs", org, scheduleId] }, {
      reverse: true,
      limit,
      cursor,
    });
    for await (const e of fromCursor(iter, cursor)) items.push(e.value);
    return { items, cursor: items.length === limit ? iter.cursor : undefined };
  }

  /** The newest runs of every schedule of an organization, without bodies. */
  async recent(org: string, { limit = 50 }: { limit?: number } = {}): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    for await (const e of this.#kv.list<Run>({ prefix: ["sched_run", org] }, { reverse: true, limit })) {
      out.push(summarize(e.value));
    }
    return out;
  }
}
