/**
 * The idempotency record of one task: `["task", org, task_id]` holds the
 * content hash, the status and, once done, the row id. Claims are made with
 * an atomic check on this key, so two copies of a task racing in by
 * different paths agree on one owner and one row.
 */

export type TaskState =
  /** Someone is calling the upstream; others wait until `leaseUntil`, then may take over. */
  | { status: "processing"; hash: string; owner: string; leaseUntil: number; at: number; kept?: Kept }
  /** A transient failure; a retry is queued (REST: the caller retries). Anyone may claim it. */
  | { status: "retrying"; hash: string; attempt: number; reason: string; at: number; sub?: string; kept?: Kept }
  | { status: "done"; hash: string; id: number; at: number }
  /**
   * Dead-lettered: terminal for every copy of the submission `sub` (a crash's re-enqueue, a redelivery);
   * a new submission of the task or a re-drive of its dead letter may claim it again.
   */
  | { status: "failed"; hash: string; reason: string; at: number; sub?: string; kept?: Kept };

/**
 * The upstream's answer, kept when only the store failed (a sink outage): the next claim stores it without
 * calling DaData or YandexGPT again.
 */
export interface Kept {
  data: unknown;
}

import { chunkBySize, GET_MANY_KEYS } from "./commit_size.ts";

export function taskKey(org: string, taskId: number): Deno.KvKey {
  return ["task", org, taskId];
}

/** Reads many task states (KV `getMany` takes at most 10 keys, so in parallel chunks). */
export async function readStates(
  kv: Deno.Kv,
  org: string,
  taskIds: number[],
): Promise<Map<number, Deno.KvEntryMaybe<TaskState>>> {
  const got = await Promise.all(
    chunkBySize(taskIds, () => 0, GET_MANY_KEYS).map((c) => kv.getMany<TaskState[]>(c.map((id) => taskKey(org, id)))),
  );
  const out = new Map<number, Deno.KvEntryMaybe<TaskState>>();
  got.flat().forEach((e) => out.set(e.key[2] as number, e));
  return out;
}

/** Counters for the page: `["taskstat", org, type, outcome]`. */
export function statKey(org: string, type: string, outcome: "done" | "failed"): Deno.KvKey {
  return ["taskstat", org, type, outcome];
}

/**
 * Hourly counters for the Overview charts: `["taskstat_h", org, hourStartMs, outcome]`, summed in
 * the same commit that marks tasks done or failed (results can run to thousands an hour, so the
 * dashboard reads 48 counters instead of scanning the result log). `hourStart` floors to the hour.
 */
export function hourlyStatKey(org: string, at: number, outcome: "done" | "failed"): Deno.KvKey {
  return ["taskstat_h", org, Math.floor(at / 3_600_000) * 3_600_000, outcome];
}

export type { ResultEntry } from "./task_schema.ts";

export function resultKey(org: string, cursor: string): Deno.KvKey {
  return ["result", org, cursor];
}

/** A small counting semaphore: at most `n` upstream calls at once in this process. */
export class Limiter {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(n: number) {
    this.#free = n;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
