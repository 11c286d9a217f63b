/**
 * Claims on `["task", org, task_id]`: the idempotency of the processor. A
 * claim is an atomic check-and-set of the task's state to `processing` with a
 * lease; copies of a task racing in by different paths agree on one owner,
 * and a done task answers with its row id instead of running again.
 */
import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";
import { chunkBySize, estimateBytes } from "./commit_size.ts";
import { type Claimed, COMMIT_CHUNK, type Item } from "./processor_types.ts";
import { type Kept, readStates, taskKey, type TaskState } from "./task_state.ts";

/** What a claim attempt found for each item. */
export interface ClaimOutcome {
  claimed: Claimed[];
  done: Array<{ item: Item; id: number }>;
  conflicts: Item[];
  busy: Array<{ item: Item; waitMs: number }>;
  /** Copies of a submission that already failed (failed is terminal for its own copies). */
  failed: Item[];
}

export class Claims {
  readonly #kv: Deno.Kv;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #owner = newId();
  /**
   * Tasks this process is working on now, with the versionstamp of the claim being worked on; a claim of
   * ours not in here was abandoned (a handler crashed).
   */
  readonly #active = new Map<string, string>();
  /** Synchronous requests working on a task without a claim in KV (see `fly`). */
  readonly #flights = new Map<string, { hash: string; landed: Promise<void> }>();

  constructor({ kv, clock, leaseMs }: { kv: Deno.Kv; clock: Clock; leaseMs: number }) {
    this.#kv = kv;
    this.#clock = clock;
    this.#leaseMs = leaseMs;
  }

  /** Claims what can be claimed; sorts the rest into done, conflicting and busy (held by another worker). */
  async claim(org: string, items: Item[], round = 0): Promise<ClaimOutcome> {
    const kv = this.#kv;
    const out: ClaimOutcome = { claimed: [], done: [], conflicts: [], busy: [], failed: [] };
    const states = await readStates(kv, org, items.map((i) => i.task.task_id));
    const now = this.#clock.now();
    const candidates: Array<{ item: Item; entry: Deno.KvEntryMaybe<TaskState>; kept?: Kept }> = [];
    for (const item of items) {
      const entry = states.get(item.task.task_id)!;
      const found = this.sort(org, item, entry.value, now);
      if (found.is === "done") out.done.push({ item, id: found.id });
      else if (found.is === "failed") out.failed.push(item);
      else if (found.is === "conflict") out.conflicts.push(item);
      else if (found.is === "busy") out.busy.push({ item, waitMs: found.waitMs });
      else if (this.#flights.has(activeKey(org, item.task.task_id))) {
        // A synchronous request of this process is working on it without a claim: look again soon.
        out.busy.push({ item, waitMs: 250 });
      } else candidates.push({ item, entry, kept: found.kept });
    }
    const sizeOf = (c: { kept?: Kept }) => 256 + (c.kept ? estimateBytes(c.kept) : 0);
    for (const chunk of chunkBySize(candidates, sizeOf, COMMIT_CHUNK)) {
      const op = kv.atomic();
      for (const { item, entry, kept } of chunk) {
        const claim: TaskState = {
          status: "processing",
          hash: item.hash,
          owner: this.#owner,
          leaseUntil: now + this.#leaseMs,
          at: now,
          ...(kept ? { kept } : {}),
        };
        op.check(entry).set(taskKey(org, item.task.task_id), claim);
      }
      const res = await op.commit();
      if (res.ok) {
        for (const { item, kept } of chunk) {
          out.claimed.push({ ...item, vs: res.versionstamp, until: now + this.#leaseMs, ...(kept ? { kept } : {}) });
          this.#active.set(activeKey(org, item.task.task_id), res.versionstamp);
        }
      } else if (round < 5) {
        // Someone raced us on at least one task: sort this chunk out again, task by task.
        for (const { item } of chunk) merge(out, await this.claim(org, [item], round + 1));
      } else {
        for (const { item } of chunk) out.busy.push({ item, waitMs: 250 });
      }
    }
    return out;
  }

  /**
   * What a task's state means for one copy of it: done (its row id), failed (this copy's submission already
   * failed), a conflict (other content), busy (another worker's lease runs, or this process works on it),
   * or free to take — with the answer kept from a store that failed, for the same content only.
   */
  sort(org: string, item: Item, v: TaskState | null, now: number): Sorted {
    if (v?.status === "done") return v.hash === item.hash ? { is: "done", id: v.id } : { is: "conflict" };
    if (v?.status === "failed" && v.hash === item.hash && v.sub !== undefined && v.sub === item.sub) {
      // This copy's submission already failed (and was dead-lettered once): a late copy after a crash.
      return { is: "failed" };
    }
    if ((v?.status === "processing" || v?.status === "retrying") && v.hash !== item.hash) {
      // The task is still on its way with other content (a lease that ended only lets the same content take over).
      return { is: "conflict" };
    }
    if (
      v?.status === "processing" &&
      (v.owner === this.#owner ? this.#active.has(activeKey(org, item.task.task_id)) : v.leaseUntil > now)
    ) {
      // Held by another worker whose lease runs, or by this process, still working on it (a second call
      // of ours would only duplicate the first); a claim of ours no longer worked on was abandoned.
      return { is: "busy", waitMs: Math.max(250, v.leaseUntil - now) };
    }
    return { is: "free", kept: v && v.hash === item.hash ? v.kept : undefined };
  }

  /**
   * Starts a synchronous request's work on a task without a claim commit: the request's done commit checks
   * the state it read instead. Copies arriving meanwhile in this process get the flight under way (wait for
   * it, or a conflict for other content); the queue path sees it as busy. `end()` when the work is over.
   */
  fly(org: string, taskId: number, hash: string): { end(): void } | { hash: string; landed: Promise<void> } {
    const key = activeKey(org, taskId);
    const under = this.#flights.get(key);
    if (under) return under;
    let end!: () => void;
    const landed = new Promise<void>((r) => end = r);
    this.#flights.set(key, { hash, landed });
    return {
      end: () => {
        this.#flights.delete(key);
        end();
      },
    };
  }

  /** True while this process works on a claim of the task (the queue path). */
  working(org: string, taskId: number): boolean {
    return this.#active.has(activeKey(org, taskId));
  }

  /**
   * This process no longer works on its claim `vs` of the task (its outcome is committed, or the work was
   * abandoned). A later claim of the same task by this process (after the lease ended) stays active.
   */
  release(org: string, taskId: number, vs: string | null): void {
    const key = activeKey(org, taskId);
    if (this.#active.get(key) === vs) this.#active.delete(key);
  }
}

const activeKey = (org: string, taskId: number) => `${org}\0${taskId}`;

/** What a task's state means for one copy of it (see `Claims.sort`). */
export type Sorted =
  | { is: "done"; id: number }
  | { is: "failed" }
  | { is: "conflict" }
  | { is: "busy"; waitMs: number }
  | { is: "free"; kept?: Kept };

function merge(into: ClaimOutcome, from: ClaimOutcome) {
  into.claimed.push(...from.claimed);
  into.done.push(...from.done);
  into.conflicts.push(...from.conflicts);
  into.busy.push(...from.busy);
  into.failed.push(...from.failed);
}
