/**
 * Committing what became of claimed tasks: done (row + state + result log +
 * `task.done` + the RabbitMQ/webhook hand-offs, atomically), retrying (a
 * later `task.process` round, the upstream's answer kept when only the store
 * failed) or failed (a dead letter). Every commit checks the versionstamps
 * its tasks were claimed (or read) at, so a worker whose lease was taken over
 * writes nothing.
 */
import { newId } from "../ids.ts";
import { chunkBySize, estimateBytes, isSizeError, MAX_COMMIT_BYTES } from "./commit_size.ts";
import type { Inbox } from "./inbox.ts";
import { type Claimed, COMMIT_CHUNK, type Item, type ProcessorOptions, TaskConflictError } from "./processor_types.ts";
import { RowRejectedError } from "./sinks/types.ts";
import {
  hourlyStatKey,
  type Kept,
  type ResultEntry,
  resultKey,
  statKey,
  taskKey,
  type TaskState,
} from "./task_state.ts";

const RESULT_TTL = 7 * 24 * 3600_000;

/** A task that did not end done; `kept` is the upstream's answer when only the store failed. */
export type Failure = { c: Claimed; reason: string; conflict?: boolean; kept?: Kept };

/**
 * What `done()` made of a task: its row id; why it was failed instead; or, when the sink was unavailable,
 * why it is not stored yet (the caller keeps the answer and retries only the store).
 */
export type DoneAnswer = { id: number } | { failed: string; conflict?: boolean } | { unstored: string };

/** The sink could not store a chunk for a reason other than its values (connection, server, schema). */
class SinkUnavailableError extends Error {
  override name = "SinkUnavailableError";
}

/** The task state, result entry, index key and message share of one task in a done commit, by estimate. */
const TASK_OVERHEAD_BYTES = 1024;

const tooLarge = (bytes: number) => `the answer is too large to store: ${bytes} bytes`;

export class Outcomes {
  readonly #o: ProcessorOptions;
  readonly #inbox: Inbox;
  readonly #rounds: number[];

  constructor(options: ProcessorOptions, inbox: Inbox, rounds: number[]) {
    this.#o = options;
    this.#inbox = inbox;
    this.#rounds = rounds;
    options.metrics.describe("shlyuz_enrichment_tasks_total", "Enrichment tasks by type and outcome");
  }

  /**
   * Stores rows and marks tasks done, in commits sized by estimate (and split
   * again when KV still finds one too large). Answers per task: its row id, or
   * why it was failed instead (an answer too large to store); a task whose
   * claim was lost has no answer.
   */
  async done(
    org: string,
    oks: Array<Claimed & { data: unknown }>,
    source: string,
  ): Promise<Map<number, DoneAnswer>> {
    const out = new Map<number, DoneAnswer>();
    const rejected: Failure[] = [];
    const fits: Array<Claimed & { data: unknown }> = [];
    // Each row's size is estimated once (a serialization of its answer) and reused for the chunking.
    const bytes = new Map<Claimed, number>();
    for (const c of oks) {
      const n = this.#rowBytes(c);
      if (n > MAX_COMMIT_BYTES) rejected.push({ c, reason: tooLarge(n) });
      else {
        fits.push(c);
        bytes.set(c, n);
      }
    }
    for (const chunk of chunkBySize(fits, (c) => bytes.get(c)! + TASK_OVERHEAD_BYTES, COMMIT_CHUNK)) {
      await this.#commitDone(org, chunk, out, rejected);
    }
    if (rejected.length) {
      const recorded = await this.fail(org, rejected, source);
      for (const { c, reason, conflict } of rejected) {
        if (recorded.has(c.task.task_id)) out.set(c.task.task_id, { failed: reason, conflict });
      }
    }
    return out;
  }

  /** Estimated bytes a task's row adds to the done commit (only the KV sink writes rows into it). */
  #rowBytes(c: Claimed & { data: unknown }): number {
    if (this.#o.sink.name !== "kv") return 0;
    return estimateBytes({ source: c.task.data, data: c.data });
  }

  async #commitDone(
    org: string,
    chunk: Array<Claimed & { data: unknown }>,
    out: Map<number, DoneAnswer>,
    rejected: Failure[],
  ): Promise<void> {
    let ok: boolean;
    try {
      ok = await this.#doneChunk(org, chunk, out);
    } catch (error) {
      if (error instanceof SinkUnavailableError) {
        for (const c of chunk) out.set(c.task.task_id, { unstored: error.message });
        return;
      }
      if (error instanceof RowRejectedError) {
        // One value the sink cannot store fails alone: find it by halving, store the others.
        if (chunk.length === 1) {
          rejected.push({ c: chunk[0], reason: error.message });
          return;
        }
        const half = Math.ceil(chunk.length / 2);
        await this.#commitDone(org, chunk.slice(0, half), out, rejected);
        await this.#commitDone(org, chunk.slice(half), out, rejected);
        return;
      }
      if (error instanceof TaskConflictError) {
        // The sink holds a row of other content for a task: fail that one, store the others.
        if (chunk.length === 1) rejected.push({ c: chunk[0], reason: error.message, conflict: true });
        else for (const one of chunk) await this.#commitDone(org, [one], out, rejected);
        return;
      }
      if (!isSizeError(error)) throw error;
      if (chunk.length === 1) {
        rejected.push({ c: chunk[0], reason: tooLarge(this.#rowBytes(chunk[0])) });
        return;
      }
      // The estimate was short: halve the commit until it fits (a lone row that cannot is failed).
      const half = Math.ceil(chunk.length / 2);
      await this.#commitDone(org, chunk.slice(0, half), out, rejected);
      await this.#commitDone(org, chunk.slice(half), out, rejected);
      return;
    }
    // A claim in the chunk was lost (lease expired, another worker took over): commit the rest one by one.
    if (!ok && chunk.length > 1) { for (const one of chunk) await this.#commitDone(org, [one], out, rejected); }
  }

  async #doneChunk(
    org: string,
    chunk: Array<Claimed & { data: unknown }>,
    out: Map<number, DoneAnswer>,
  ): Promise<boolean> {
    const { kv, sink, queue, clock, events } = this.#o;
    const op = kv.atomic();
    for (const c of chunk) op.check({ key: taskKey(org, c.task.task_id), versionstamp: c.vs });
    let rowIds: number[];
    try {
      rowIds = await sink.store(
        org,
        chunk.map((c) => ({
          task_id: c.task.task_id,
          task_type: c.task.task_type,
          source: c.task.data,
          data: c.data,
          hash: c.hash,
        })),
        op,
      );
    } catch (error) {
      if (error instanceof TaskConflictError || error instanceof RowRejectedError) throw error;
      throw new SinkUnavailableError(
        `Cannot store the row in the ${sink.name} sink (the answer is kept; only the store is retried): ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    const now = clock.now();
    const at = new Date(now).toISOString();
    const results: ResultEntry[] = [];
    const perType = new Map<string, number>();
    chunk.forEach((c, i) => {
      const r: ResultEntry = {
        cursor: newId(now),
        task_id: c.task.task_id,
        id: rowIds[i],
        task_type: c.task.task_type,
        at,
      };
      results.push(r);
      op.set(
        taskKey(org, c.task.task_id),
        { status: "done", hash: c.hash, id: rowIds[i], at: now } satisfies TaskState,
      );
      op.set(resultKey(org, r.cursor), r, { expireIn: RESULT_TTL });
      perType.set(c.task.task_type, (perType.get(c.task.task_type) ?? 0) + 1);
    });
    for (const [type, n] of perType) op.sum(statKey(org, type, "done"), BigInt(n));
    op.sum(hourlyStatKey(org, now, "done"), BigInt(chunk.length));
    // The fan-out commits with the rows: `task.done` (the live page, SSE, rules) and the hand-offs to
    // RabbitMQ and the webhook, each a message of its own with its own retries.
    const listed = results.map((r) => ({ task_id: r.task_id, id: r.id, task_type: r.task_type, cursor: r.cursor }));
    const one = results.length === 1 ? { task_id: results[0].task_id, id: results[0].id } : {};
    const published = events.stage(op, org, "task.done", { ...one, count: results.length, results: listed });
    const to = await this.#o.deliveries?.(org);
    const delivered = { results: results.map((r) => ({ task_id: r.task_id, id: r.id })) };
    if (to?.amqp) queue.stage(op, { kind: "task.amqp", payload: delivered, org });
    if (to?.webhook) queue.stage(op, { kind: "task.webhook", payload: delivered, org });
    const res = await op.commit();
    if (!res.ok) return false;
    published();
    results.forEach((r) => out.set(r.task_id, { id: r.id }));
    for (const [type, n] of perType) this.#o.metrics.inc("shlyuz_enrichment_tasks_total", { type, outcome: "done" }, n);
    return true;
  }

  /**
   * Queues another round for tasks that failed transiently, after the round's
   * wait (with jitter); an answer kept from a failed store stays in the task
   * state. With `enqueue: false` (REST: the caller retries) only the state is
   * written. A group whose commit fails (one claim was taken over) is
   * committed task by task, so the others are not lost.
   */
  async retry(org: string, items: Failure[], source: string, { enqueue = true } = {}): Promise<void> {
    const sizeOf = (f: Failure) => estimateBytes(f.c.task) * 2 + (f.kept ? estimateBytes(f.kept) : 0) + 512;
    for (const [attempt, all] of Map.groupBy(items, (x) => x.c.attempt)) {
      for (const group of chunkBySize(all, sizeOf, COMMIT_CHUNK)) {
        if (await this.#retryGroup(org, attempt, group, source, enqueue)) continue;
        let lost = group.length;
        if (group.length > 1) {
          for (const one of group) if (await this.#retryGroup(org, attempt, [one], source, enqueue)) lost--;
        }
        if (lost) this.#o.log.warn("retry not scheduled: a claim was taken over", { org, count: lost });
      }
    }
  }

  async #retryGroup(
    org: string,
    attempt: number,
    group: Failure[],
    source: string,
    enqueue: boolean,
  ): Promise<boolean> {
    const now = this.#o.clock.now();
    const base = this.#rounds[Math.min(attempt, this.#rounds.length - 1)];
    const op = this.#o.kv.atomic();
    for (const { c, reason, kept } of group) {
      const state: TaskState = { status: "retrying", hash: c.hash, attempt: attempt + 1, reason, at: now, sub: c.sub };
      if (kept) state.kept = kept;
      op.check({ key: taskKey(org, c.task.task_id), versionstamp: c.vs }).set(taskKey(org, c.task.task_id), state);
    }
    if (enqueue) {
      this.#inbox.add(op, org, {
        tasks: group.map(({ c }) => ({ task: c.task, attempt: attempt + 1, sub: c.sub })),
        source,
      }, Math.round(base / 2 + Math.random() * base / 2));
    }
    if (!(await op.commit()).ok) return false;
    this.#o.metrics.inc("shlyuz_enrichment_tasks_total", { type: "any", outcome: "retry" }, group.length);
    return true;
  }

  /** Marks claimed tasks failed and dead-letters each (re-drivable), then publishes `task.failed`; returns the task ids recorded. */
  async fail(org: string, items: Failure[], source: string): Promise<Set<number>> {
    const recorded = new Set<number>();
    const sizeOf = (f: Failure) =>
      estimateBytes(f.c.task) * 2 + f.reason.length * 2 + (f.kept ? estimateBytes(f.kept) : 0) + TASK_OVERHEAD_BYTES;
    for (const chunk of chunkBySize(items, sizeOf, COMMIT_CHUNK)) {
      if (await this.#failChunk(org, chunk, source, recorded)) continue;
      // A claim in the chunk was taken over: record the others task by task, so they are not lost.
      let lost = chunk.length;
      if (chunk.length > 1) {
        for (const one of chunk) if (await this.#failChunk(org, [one], source, recorded)) lost--;
      }
      if (lost) this.#o.log.warn("failure not recorded: a claim was taken over", { org, count: lost });
    }
    return recorded;
  }

  async #failChunk(org: string, chunk: Failure[], source: string, recorded: Set<number>): Promise<boolean> {
    const now = this.#o.clock.now();
    const op = this.#o.kv.atomic();
    for (const { c, reason, kept } of chunk) {
      const key = taskKey(org, c.task.task_id);
      // Terminal for this submission's copies; a kept answer lets a re-drive store it without the upstream.
      const state: TaskState = { status: "failed", hash: c.hash, reason, at: now, sub: c.sub };
      if (kept) state.kept = kept;
      op.check({ key, versionstamp: c.vs }).set(key, state);
      op.sum(statKey(org, c.task.task_type, "failed"), 1n);
    }
    op.sum(hourlyStatKey(org, now, "failed"), BigInt(chunk.length));
    const committed = this.#addDeadLetters(
      op,
      org,
      chunk.map(({ c, reason }) => ({ task: c.task, reason, attempts: c.attempt + 1 })),
      source,
    );
    const res = await op.commit();
    if (!res.ok) return false;
    committed();
    for (const { c, reason } of chunk) {
      recorded.add(c.task.task_id);
      this.#o.metrics.inc("shlyuz_enrichment_tasks_total", { type: c.task.task_type, outcome: "failed" });
      await this.#o.events.publish(org, "task.failed", {
        task_id: c.task.task_id,
        task_type: c.task.task_type,
        reason,
        source,
      });
    }
    return true;
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
    const committed = this.#addDeadLetters(
      op,
      org,
      [{ task: raw, reason: `invalid task: ${reason}`, attempts: 0 }],
      source,
    );
    op.sum(hourlyStatKey(org, this.#o.clock.now(), "failed"), 1n);
    if ((await op.commit()).ok) committed();
    const { task_id: taskId, task_type: taskType } = (raw ?? {}) as { task_id?: unknown; task_type?: unknown };
    await this.#o.events.publish(org, "task.failed", {
      task_id: Number.isInteger(taskId) ? taskId as number : null,
      task_type: typeof taskType === "string" ? taskType : null,
      reason: `invalid task: ${reason}`,
      source,
    });
  }

  /**
   * Dead-letters single tasks through the queue (listed, re-drivable, counted), each as a
   * one-task `task.process` envelope, in the caller's atomic operation.
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
