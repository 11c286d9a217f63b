/**
 * The task store: the only writer of a task's KV state `["task", org, task_id]`.
 *
 * - `claim()` takes tasks for this process, one sized commit per chunk, each checked against the state it read:
 *   copies racing in by different paths agree on one owner, and a done task answers with its row id.
 * - `settle()` records what became of claimed tasks, one sized commit per chunk checked against the claims: the
 *   rows (the KV sink's join the commit; Postgres stores them just before it), the done marks, the result log,
 *   `task.done` and the RabbitMQ/webhook hand-offs; another round for a transient failure (the upstream's answer
 *   kept when only the store failed); or the failure with its dead letter. A row and its result exist together or
 *   not at all, and a worker whose claim was taken over writes nothing.
 *
 * It also knows which tasks this process is working on: claims in progress (`release()` when done) and the
 * synchronous requests' single flight (`fly()`), which work without a claim commit.
 */
import type { Clock } from "../clock.ts";
import type { EventBus } from "../events/bus.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { QueueFor } from "../queue/queue.ts";
import { chunkBySize, estimateBytes, isSizeError, MAX_COMMIT_BYTES } from "./commit_size.ts";
import type { Inbox } from "./inbox.ts";
import type { EnrichmentKinds } from "./kinds.ts";
import { type Claimed, COMMIT_CHUNK, type Deliveries, type Item, TaskConflictError } from "./processor_types.ts";
import { RowRejectedError, type RowSink, type StoredRows } from "./sinks/types.ts";
import {
  hourlyStatKey,
  type Kept,
  readStates,
  type ResultEntry,
  resultKey,
  statKey,
  taskKey,
  type TaskState,
} from "./task_state.ts";

export interface TaskStoreOptions {
  kv: Deno.Kv;
  sink: RowSink;
  queue: QueueFor<EnrichmentKinds>;
  inbox: Inbox;
  events: EventBus;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  /** How long a claim holds before another worker may take over. */
  leaseMs: number;
  /** Waits before each new round of a task that failed transiently; their count is the rounds a task gets. */
  rounds: number[];
  /** Where the organization's results go besides `task.done` (read once per settle commit with results). */
  deliveries?: (org: string) => Promise<Deliveries>;
}

/**
 * What a claim attempt found: the items it claimed, those of other content, and those another worker holds.
 * Copies of a done task, and of a submission that already failed (terminal for its own copies), need nothing more.
 */
export interface ClaimOutcome {
  claimed: Claimed[];
  conflicts: Item[];
  busy: Array<{ item: Item; waitMs: number }>;
}

/** How the work on a claimed task ended: the upstream's answer to store, or why there is none. */
export type Outcome =
  | { c: Claimed; data: unknown }
  | { c: Claimed; reason: string; transient: boolean; conflict?: boolean; kept?: Kept };

/** An outcome without an answer. */
type Unanswered = Extract<Outcome, { reason: string }>;

/** What `settle()` made of a task: its row id, another round, or a failure. Absent: its claim was lost. */
export type Settled = { id: number } | { retrying: string } | { failed: string; conflict?: boolean };

/** What a task's state means for one copy of it (see `TaskStore.sort`). */
export type Sorted =
  | { is: "done"; id: number }
  | { is: "failed" }
  | { is: "conflict" }
  | { is: "busy"; waitMs: number }
  | { is: "free"; kept?: Kept };

const RESULT_TTL = 7 * 24 * 3600_000;
/** The task state, result entry, index key and message share of one task in a settle commit, by estimate. */
const TASK_OVERHEAD_BYTES = 1024;

const tooLarge = (bytes: number) => `the answer is too large to store: ${bytes} bytes`;
const answered = (o: Outcome): o is { c: Claimed; data: unknown } => "data" in o;
const activeKey = (org: string, taskId: number) => `${org}\0${taskId}`;

export class TaskStore {
  readonly #o: TaskStoreOptions;
  readonly #owner = newId();
  /**
   * Tasks this process is working on now, with the versionstamp of the claim being worked on; a claim of
   * ours not in here was abandoned (a handler crashed).
   */
  readonly #active = new Map<string, string>();
  /** Synchronous requests working on a task without a claim in KV (see `fly`). */
  readonly #flights = new Map<string, { hash: string; landed: Promise<void> }>();

  constructor(options: TaskStoreOptions) {
    this.#o = options;
    options.metrics.describe("shlyuz_enrichment_tasks_total", "Enrichment tasks by type and outcome");
  }

  /** Claims what can be claimed; sorts out the rest (see `ClaimOutcome`). */
  async claim(org: string, items: Item[], round = 0): Promise<ClaimOutcome> {
    const { kv, clock, leaseMs } = this.#o;
    const out: ClaimOutcome = { claimed: [], conflicts: [], busy: [] };
    const states = await readStates(kv, org, items.map((i) => i.task.task_id));
    const now = clock.now();
    const candidates: Array<{ item: Item; entry: Deno.KvEntryMaybe<TaskState>; kept?: Kept }> = [];
    for (const item of items) {
      const entry = states.get(item.task.task_id)!;
      const found = this.sort(org, item, entry.value, now);
      if (found.is === "done" || found.is === "failed") continue;
      if (found.is === "conflict") out.conflicts.push(item);
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
          leaseUntil: now + leaseMs,
          at: now,
          ...(kept ? { kept } : {}),
        };
        op.check(entry).set(taskKey(org, item.task.task_id), claim);
      }
      const res = await op.commit();
      if (res.ok) {
        for (const { item, kept } of chunk) {
          out.claimed.push({ ...item, vs: res.versionstamp, until: now + leaseMs, ...(kept ? { kept } : {}) });
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
   * Starts a synchronous request's work on a task without a claim commit: the request's settle commit checks
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

  /**
   * Records what became of claimed tasks, in commits sized by estimate (split again when KV still finds one too
   * large). A failure gets another round when it is transient and rounds are left (with `enqueue: false` — REST,
   * whose caller repeats — only when the upstream's answer is kept: the state is written, no message); else it
   * fails with a dead letter. An answer the sink refuses fails its task alone; a sink outage keeps the answer.
   */
  async settle(
    org: string,
    outcomes: Outcome[],
    source: string,
    { enqueue = true }: { enqueue?: boolean } = {},
  ): Promise<Map<number, Settled>> {
    const out = new Map<number, Settled>();
    const sized: Array<{ o: Outcome; bytes: number }> = outcomes.map((o) => {
      if (!answered(o)) return { o, bytes: failureBytes(o) };
      const n = this.#o.sink.commitBytes({ source: o.c.task.data, data: o.data });
      if (n <= MAX_COMMIT_BYTES) return { o, bytes: n + TASK_OVERHEAD_BYTES };
      const failed: Unanswered = { c: o.c, reason: tooLarge(n), transient: false };
      return { o: failed, bytes: failureBytes(failed) };
    });
    for (const chunk of chunkBySize(sized, (s) => s.bytes, COMMIT_CHUNK)) {
      await this.#settleChunk(org, chunk.map((s) => s.o), { source, enqueue, out });
    }
    return out;
  }

  async #settleChunk(
    org: string,
    chunk: Outcome[],
    to: { source: string; enqueue: boolean; out: Map<number, Settled> },
  ): Promise<void> {
    const { sink } = this.#o;
    const split = async (parts: Outcome[][]) => {
      for (const part of parts) await this.#settleChunk(org, part, to);
    };
    const halves = () => [chunk.slice(0, Math.ceil(chunk.length / 2)), chunk.slice(Math.ceil(chunk.length / 2))];
    const answers = chunk.filter(answered);
    let outcomes = chunk;
    let stored: StoredRows = { ids: [], writes: [] };
    if (answers.length) {
      try {
        stored = await sink.store(
          org,
          answers.map(({ c, data }) => ({
            task_id: c.task.task_id,
            task_type: c.task.task_type,
            source: c.task.data,
            data,
            hash: c.hash,
          })),
        );
      } catch (error) {
        if (error instanceof RowRejectedError || error instanceof TaskConflictError) {
          // One value the sink cannot store (or a row of other content) fails alone: find it, store the others.
          if (chunk.length > 1) {
            return await split(error instanceof RowRejectedError ? halves() : chunk.map((o) => [o]));
          }
          const conflict = error instanceof TaskConflictError;
          return await split([[{ c: chunk[0].c, reason: error.message, transient: false, conflict }]]);
        }
        // The sink is away: keep the answers, so another round only stores them.
        const reason =
          `Cannot store the row in the ${sink.name} sink (the answer is kept; only the store is retried): ${
            error instanceof Error ? error.message : String(error)
          }`;
        outcomes = chunk.map((o) => answered(o) ? { c: o.c, reason, transient: true, kept: { data: o.data } } : o);
      }
    }
    const commit = await this.#commit(org, outcomes, stored, to).catch((error) => {
      if (!isSizeError(error)) throw error;
      return "too large" as const;
    });
    if (commit === "too large") {
      // The estimate was short: halve the commit until it fits (a lone answer that cannot is failed).
      if (chunk.length > 1) return await split(halves());
      const o = chunk[0];
      if (!answered(o)) throw new Error(`Cannot record task ${o.c.task.task_id}: its state is too large for KV`);
      const bytes = estimateBytes({ source: o.c.task.data, data: o.data });
      return await split([[{ c: o.c, reason: tooLarge(bytes), transient: false }]]);
    }
    if (commit === "lost") {
      // A claim in the chunk was lost (lease ended, another worker took over): settle the rest one by one.
      if (chunk.length > 1) return await split(chunk.map((o) => [o]));
      this.#o.log.warn("outcome not recorded: the claim was taken over", { org, task_id: chunk[0].c.task.task_id });
    }
  }

  /** One settle commit; "lost" when a claim's check failed (nothing was written). */
  async #commit(
    org: string,
    outcomes: Outcome[],
    stored: StoredRows,
    { source, enqueue, out }: { source: string; enqueue: boolean; out: Map<number, Settled> },
  ): Promise<"ok" | "lost"> {
    const { kv, queue, clock, events, metrics, inbox, rounds } = this.#o;
    const now = clock.now();
    const at = new Date(now).toISOString();
    const op = kv.atomic();
    const results: ResultEntry[] = [];
    const failed: Array<{ c: Claimed; reason: string; conflict?: boolean }> = [];
    const retries = new Map<number, Claimed[]>();
    const retrying: Array<{ c: Claimed; reason: string }> = [];
    const perType = new Map<string, number>();
    let row = 0;
    for (const o of outcomes) {
      const { c } = o;
      const key = taskKey(org, c.task.task_id);
      op.check({ key, versionstamp: c.vs });
      if (answered(o)) {
        const id = stored.ids[row++];
        op.set(key, { status: "done", hash: c.hash, id, at: now } satisfies TaskState);
        const r: ResultEntry = { cursor: newId(now), task_id: c.task.task_id, id, task_type: c.task.task_type, at };
        op.set(resultKey(org, r.cursor), r, { expireIn: RESULT_TTL });
        results.push(r);
        perType.set(c.task.task_type, (perType.get(c.task.task_type) ?? 0) + 1);
      } else if (o.transient && (enqueue ? c.attempt < rounds.length : o.kept !== undefined)) {
        const attempt = c.attempt + 1;
        const state: TaskState = { status: "retrying", hash: c.hash, attempt, reason: o.reason, at: now, sub: c.sub };
        if (o.kept) state.kept = o.kept;
        op.set(key, state);
        if (enqueue) retries.set(c.attempt, [...retries.get(c.attempt) ?? [], c]);
        retrying.push({ c, reason: o.reason });
      } else {
        // Terminal for this submission's copies; a kept answer lets a re-drive store it without the upstream.
        const state: TaskState = { status: "failed", hash: c.hash, reason: o.reason, at: now, sub: c.sub };
        if (o.kept) state.kept = o.kept;
        op.set(key, state);
        op.sum(statKey(org, c.task.task_type, "failed"), 1n);
        failed.push({ c, reason: o.reason, conflict: o.conflict });
      }
    }
    for (const w of stored.writes) op.set(w.key, w.value);
    let published = () => {};
    if (results.length) {
      for (const [type, n] of perType) op.sum(statKey(org, type, "done"), BigInt(n));
      op.sum(hourlyStatKey(org, now, "done"), BigInt(results.length));
      // The fan-out commits with the rows: `task.done` (the live page, SSE, rules) and the hand-offs to
      // RabbitMQ and the webhook, each a message of its own with its own retries.
      const listed = results.map((r) => ({ task_id: r.task_id, id: r.id, task_type: r.task_type, cursor: r.cursor }));
      const one = results.length === 1 ? { task_id: results[0].task_id, id: results[0].id } : {};
      published = events.stage(op, org, "task.done", { ...one, count: results.length, results: listed });
      const deliver = await this.#o.deliveries?.(org);
      const delivered = { results: results.map((r) => ({ task_id: r.task_id, id: r.id })) };
      if (deliver?.amqp) queue.stage(op, { kind: "task.amqp", payload: delivered, org });
      if (deliver?.webhook) queue.stage(op, { kind: "task.webhook", payload: delivered, org });
    }
    for (const [attempt, group] of retries) {
      // The next round after its wait, with jitter; a kept answer travels in the task state, not the message.
      const base = rounds[Math.min(attempt, rounds.length - 1)];
      inbox.add(op, org, {
        tasks: group.map((c) => ({ task: c.task, attempt: attempt + 1, sub: c.sub })),
        source,
      }, Math.round(base / 2 + Math.random() * base / 2));
    }
    let deadLettered = () => {};
    if (failed.length) {
      op.sum(hourlyStatKey(org, now, "failed"), BigInt(failed.length));
      deadLettered = this.#addDeadLetters(
        op,
        org,
        failed.map(({ c, reason }) => ({ task: c.task, reason, attempts: c.attempt + 1 })),
        source,
      );
    }
    if (!(await op.commit()).ok) return "lost";
    published();
    deadLettered();
    for (const r of results) out.set(r.task_id, { id: r.id });
    for (const [type, n] of perType) metrics.inc("shlyuz_enrichment_tasks_total", { type, outcome: "done" }, n);
    if (retrying.length) {
      metrics.inc("shlyuz_enrichment_tasks_total", { type: "any", outcome: "retry" }, retrying.length);
    }
    for (const { c, reason } of retrying) out.set(c.task.task_id, { retrying: reason });
    for (const { c, reason, conflict } of failed) {
      out.set(c.task.task_id, { failed: reason, conflict });
      metrics.inc("shlyuz_enrichment_tasks_total", { type: c.task.task_type, outcome: "failed" });
      await events.publish(org, "task.failed", {
        task_id: c.task.task_id,
        task_type: c.task.task_type,
        reason,
        source,
      });
    }
    return "ok";
  }

  /** Dead-letters a task that cannot succeed whatever happens (a conflict), without a claim. */
  async terminal(org: string, item: Item, reason: string, source: string): Promise<void> {
    const op = this.#o.kv.atomic();
    const committed = this.#addDeadLetters(op, org, [{ task: item.task, reason, attempts: item.attempt }], source);
    op.sum(statKey(org, item.task.task_type, "failed"), 1n);
    op.sum(hourlyStatKey(org, this.#o.clock.now(), "failed"), 1n);
    if ((await op.commit()).ok) committed();
    await this.#o.events.publish(org, "task.failed", {
      task_id: item.task.task_id,
      task_type: item.task.task_type,
      reason,
      source,
    });
  }

  /** Records a task that failed validation as a dead letter (the same message REST answers with 422). */
  async invalid(org: string, raw: unknown, reason: string, source: string): Promise<void> {
    const op = this.#o.kv.atomic();
    const why = `invalid task: ${reason}`;
    const committed = this.#addDeadLetters(op, org, [{ task: raw, reason: why, attempts: 0 }], source);
    op.sum(hourlyStatKey(org, this.#o.clock.now(), "failed"), 1n);
    if ((await op.commit()).ok) committed();
    const { task_id: taskId, task_type: taskType } = (raw ?? {}) as { task_id?: unknown; task_type?: unknown };
    await this.#o.events.publish(org, "task.failed", {
      task_id: Number.isInteger(taskId) ? taskId as number : null,
      task_type: typeof taskType === "string" ? taskType : null,
      reason: why,
      source,
    });
  }

  /**
   * Dead-letters single tasks through the queue (listed, re-drivable, counted), each as a one-task
   * `task.process` envelope, in the caller's atomic operation.
   */
  #addDeadLetters(
    op: Deno.AtomicOperation,
    org: string,
    items: Array<{ task: unknown; reason: string; attempts: number }>,
    source: string,
  ): () => void {
    const now = this.#o.clock.now();
    const { queue } = this.#o;
    return queue.dead.addTo(
      op,
      items.map(({ task, reason, attempts }) => {
        const id = newId(now);
        // A re-drive is a submission of its own (the dead letter's id): it may claim the failed task again.
        return {
          envelope: queue.envelope({
            kind: "task.process",
            payload: { tasks: [{ task, attempt: 0, sub: id }], source },
            org,
            id,
          }),
          reason,
          attempts,
        };
      }),
    );
  }
}

/** The estimated share of a failure (or a retry) in a settle commit: the task twice, the reason, a kept answer. */
function failureBytes(o: Unanswered): number {
  return estimateBytes(o.c.task) * 2 + o.reason.length * 2 + (o.kept ? estimateBytes(o.kept) : 0) +
    TASK_OVERHEAD_BYTES;
}

function merge(into: ClaimOutcome, from: ClaimOutcome) {
  into.claimed.push(...from.claimed);
  into.conflicts.push(...from.conflicts);
  into.busy.push(...from.busy);
}
