/**
 * Committing what became of claimed tasks: done (row + state + result log +
 * `task.result`, atomically), retrying (a later `task.process` round) or
 * failed (a dead letter). Every commit checks the claims' versionstamps, so
 * a worker whose lease was taken over writes nothing.
 */
import { newId } from "../ids.ts";
import type { Inbox } from "./inbox.ts";
import {
  type Claimed,
  COMMIT_CHUNK,
  type Item,
  PROCESS_KIND,
  type ProcessorOptions,
  type ProcessPayload,
  RESULT_KIND,
  type ResultMessage,
} from "./processor_types.ts";
import { type ResultEntry, resultKey, statKey, taskKey, type TaskState } from "./task_state.ts";

const RESULT_TTL = 7 * 24 * 3600_000;

type Failure = { c: Claimed; reason: string };

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

  /** Stores rows and marks tasks done; returns task_id → row id for the tasks whose claim still held. */
  async done(org: string, oks: Array<Claimed & { data: unknown }>): Promise<Map<number, number>> {
    const ids = new Map<number, number>();
    for (let i = 0; i < oks.length; i += COMMIT_CHUNK) {
      const chunk = oks.slice(i, i + COMMIT_CHUNK);
      if (await this.#doneChunk(org, chunk, ids)) continue;
      // A claim in the chunk was lost (lease expired, another worker took over): commit the rest one by one.
      for (const one of chunk) await this.#doneChunk(org, [one], ids);
    }
    return ids;
  }

  async #doneChunk(
    org: string,
    chunk: Array<Claimed & { data: unknown }>,
    ids: Map<number, number>,
  ): Promise<boolean> {
    const { kv, sink, queue, clock } = this.#o;
    const op = kv.atomic();
    for (const c of chunk) op.check({ key: taskKey(org, c.task.task_id), versionstamp: c.vs });
    const rowIds = await sink.store(
      org,
      chunk.map((c) => ({ task_id: c.task.task_id, task_type: c.task.task_type, source: c.task.data, data: c.data })),
      op,
    );
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
    queue.addTo(op, RESULT_KIND, org, { results } satisfies ResultMessage);
    const res = await op.commit();
    if (!res.ok) return false;
    results.forEach((r) => ids.set(r.task_id, r.id));
    for (const [type, n] of perType) this.#o.metrics.inc("shlyuz_enrichment_tasks_total", { type, outcome: "done" }, n);
    return true;
  }

  /** Queues another round for tasks that failed transiently, after the round's wait (with jitter). */
  async retry(org: string, items: Failure[], source: string): Promise<void> {
    const { kv, clock } = this.#o;
    const now = clock.now();
    const byAttempt = Map.groupBy(items, (x) => x.c.attempt);
    for (const [attempt, group] of byAttempt) {
      const base = this.#rounds[Math.min(attempt, this.#rounds.length - 1)];
      const op = kv.atomic();
      for (const { c, reason } of group) {
        op.check({ key: taskKey(org, c.task.task_id), versionstamp: c.vs }).set(
          taskKey(org, c.task.task_id),
          { status: "retrying", hash: c.hash, attempt: attempt + 1, reason, at: now } satisfies TaskState,
        );
      }
      this.#inbox.add(op, org, {
        tasks: group.map(({ c }) => ({ task: c.task, attempt: attempt + 1 })),
        source,
      }, Math.round(base / 2 + Math.random() * base / 2));
      const res = await op.commit();
      if (!res.ok) this.#o.log.warn("retry not scheduled: a claim was taken over", { org, count: group.length });
      this.#o.metrics.inc("shlyuz_enrichment_tasks_total", { type: "any", outcome: "retry" }, group.length);
    }
  }

  /** Marks claimed tasks failed and dead-letters each (re-drivable), then publishes `task.failed`. */
  async fail(org: string, items: Failure[], source: string): Promise<void> {
    const { kv, clock } = this.#o;
    const now = clock.now();
    for (let i = 0; i < items.length; i += COMMIT_CHUNK) {
      const chunk = items.slice(i, i + COMMIT_CHUNK);
      const op = kv.atomic();
      for (const { c, reason } of chunk) {
        const key = taskKey(org, c.task.task_id);
        op.check({ key, versionstamp: c.vs }).set(
          key,
          { status: "failed", hash: c.hash, reason, at: now } satisfies TaskState,
        );
        op.sum(statKey(org, c.task.task_type, "failed"), 1n);
      }
      const committed = this.#addDeadLetters(
        op,
        org,
        chunk.map(({ c, reason }) => ({ task: c.task, reason, attempts: c.attempt + 1 })),
        source,
      );
      const res = await op.commit();
      if (!res.ok) {
        this.#o.log.warn("failure not recorded: a claim was taken over", { org, count: chunk.length });
        continue;
      }
      committed();
      for (const { c, reason } of chunk) {
        this.#o.metrics.inc("shlyuz_enrichment_tasks_total", { type: c.task.task_type, outcome: "failed" });
        await this.#o.events.publish(org, "task.failed", {
          task_id: c.task.task_id,
          task_type: c.task.task_type,
          reason,
          source,
        });
      }
    }
  }

  /** Dead-letters a task that cannot succeed whatever happens (a conflict), without a claim. */
  async terminal(org: string, item: Item, reason: string, source: string): Promise<void> {
    const op = this.#o.kv.atomic();
    const committed = this.#addDeadLetters(op, org, [{ task: item.task, reason, attempts: item.attempt }], source);
    op.sum(statKey(org, item.task.task_type, "failed"), 1n);
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
    if ((await op.commit()).ok) committed();
    const taskId = (raw as { task_id?: unknown })?.task_id;
    await this.#o.events.publish(org, "task.failed", {
      task_id: typeof taskId === "number" ? taskId : null,
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
    return this.#o.queue.addDeadLettersTo(
      op,
      items.map(({ task, reason, attempts }) => {
        const id = newId(now);
        const payload: ProcessPayload = { tasks: [{ task, attempt: 0 }], source };
        return { envelope: { v: 1, kind: PROCESS_KIND, org, id, payload }, reason, attempts };
      }),
    );
  }
}
