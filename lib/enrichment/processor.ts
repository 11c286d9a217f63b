/**
 * The processor: one task's life from the route (or the queue job) to its
 * row — validate, take the task (task_store.ts), call DaData or YandexGPT
 * (the organization's clients, with their brief retries inside the claim),
 * settle the outcome (task_store.ts, which hands rows to the sink) — once per
 * `(organization, task_id)` whatever the path (REST, KV queue, RabbitMQ) and
 * however often a copy is delivered.
 *
 * A queued batch costs two KV commits whatever its size (claim, settle), which
 * is what lets the queue path carry many tasks per message. A synchronous
 * request makes no claim commit: copies in this process wait for the first
 * (`TaskStore.fly`), and its settle commit checks the state it read; requests
 * arriving together share their settle commits. One retry policy: the
 * clients' brief retries inside the claim, then rounds on the queue's backoff
 * (decided in `TaskStore.settle`).
 */
import { isTransientError } from "../errors.ts";
import { newId } from "../ids.ts";
import { GroupCommit } from "./group_commit.ts";
import { Inbox } from "./inbox.ts";
import {
  type Claimed,
  COMMIT_CHUNK,
  errorMessage,
  type Item,
  type ProcessorOptions,
  TaskBusyError,
  TaskConflictError,
  TaskFailedError,
} from "./processor_types.ts";
import type { QueuedTask } from "./kinds.ts";
import type { RowSink } from "./sinks/types.ts";
import { type Task, taskHash, type TaskResult, validateTask } from "./task_schema.ts";
import { Limiter, readStates, type ResultEntry, resultKey, type TaskState } from "./task_state.ts";
import { GET_MANY_KEYS } from "./commit_size.ts";
import { type Outcome, type Settled, TaskStore } from "./task_store.ts";

export {
  type Enrich,
  type ProcessorOptions,
  TaskBusyError,
  TaskConflictError,
  TaskFailedError,
} from "./processor_types.ts";

export class Processor {
  readonly #o: ProcessorOptions;
  readonly #limiter: Limiter;
  readonly #inbox: Inbox;
  readonly #store: TaskStore;
  /** Synchronous requests arriving together share their state reads (`getMany`, ≤ 10 keys) and settle commits. */
  readonly #readNow: GroupCommit<number, Deno.KvEntryMaybe<TaskState>>;
  readonly #settleNow: GroupCommit<Outcome, Settled | undefined>;

  constructor(options: ProcessorOptions) {
    this.#o = options;
    this.#limiter = new Limiter(options.concurrency ?? 64);
    this.#inbox = new Inbox(options);
    this.#store = new TaskStore({
      ...options,
      inbox: this.#inbox,
      rounds: options.roundDelaysMs ?? [1000, 5000, 30_000, 60_000, 300_000],
    });
    this.#readNow = new GroupCommit({
      max: GET_MANY_KEYS,
      keyOf: (taskId) => taskId,
      flush: async (org, taskIds) => {
        const states = await readStates(options.kv, org, taskIds);
        return taskIds.map((id) => states.get(id)!);
      },
    });
    this.#settleNow = new GroupCommit({
      max: COMMIT_CHUNK,
      keyOf: (o) => o.c.task.task_id,
      flush: async (org, outcomes) => {
        // REST: the caller repeats a transient failure itself, so no round is enqueued.
        const settled = await this.#store.settle(org, outcomes, "rest", { enqueue: false });
        return outcomes.map((o) => settled.get(o.c.task.task_id));
      },
    });
  }

  get sink(): RowSink {
    return this.#o.sink;
  }

  /** The task store (tests reach the claims through it). */
  get store(): TaskStore {
    return this.#store;
  }

  /**
   * Processes one task now (REST, synchronous) and returns `{task_id, id}`. No claim commit: copies in this
   * process wait for the first (`TaskStore.fly`), and the settle commit checks the task state read here, so a
   * copy that raced in by another path (or process) writes nothing and the loop answers with its result.
   */
  async processNow(org: string, task: Task): Promise<TaskResult> {
    const { clock } = this.#o;
    const store = this.#store;
    // Each request is a submission of its own: a task that failed may be sent again.
    const item: Item = { task, hash: await taskHash(task), attempt: 0, sub: newId() };
    const deadline = clock.now() + (this.#o.syncWaitMs ?? 30_000);
    for (let pause = 10;; pause = Math.min(pause * 2, 200)) {
      const flight = store.fly(org, task.task_id, item.hash);
      if (!("end" in flight)) {
        if (flight.hash !== item.hash) throw new TaskConflictError(task.task_id);
        await flight.landed; // the first copy's outcome is in KV now
        continue;
      }
      let busy = false;
      try {
        if (store.working(org, task.task_id)) busy = true; // the queue path of this process has it
        else {
          const entry = (await this.#readNow.submit(org, task.task_id))!;
          const now = clock.now();
          const found = store.sort(org, item, entry.value, now);
          if (found.is === "done") return { task_id: task.task_id, id: found.id };
          if (found.is === "conflict") throw new TaskConflictError(task.task_id);
          if (found.is === "busy") busy = true;
          else {
            const c: Claimed = { ...item, vs: entry.versionstamp, until: now + this.#o.leaseMs };
            if (found.is === "free" && found.kept) c.kept = found.kept;
            const result = await this.#runNow(org, c);
            if (result) return result;
            // Another path wrote the task meanwhile: the next round reads what it wrote.
          }
        }
      } finally {
        flight.end();
      }
      if (busy) {
        if (clock.now() >= deadline) throw new TaskBusyError(task.task_id);
        await clock.sleep(pause);
      }
    }
  }

  /** Calls the upstream (or takes the kept answer) and settles the outcome; null when the state moved meanwhile. */
  async #runNow(org: string, c: Claimed): Promise<TaskResult | null> {
    const taskId = c.task.task_id;
    const [outcome] = await this.#call(org, [c]);
    const settled = await this.#settleNow.submit(org, outcome);
    if (!settled) return null;
    if ("id" in settled) return { task_id: taskId, id: settled.id };
    // The sink is away: the answer is kept for the caller's repeat (503), which only stores it.
    if ("retrying" in settled) throw new TaskFailedError(taskId, settled.retrying, { transient: true });
    if (settled.conflict) throw new TaskConflictError(taskId);
    const transient = "data" in outcome ? false : outcome.transient;
    throw new TaskFailedError(taskId, settled.failed, { transient });
  }

  /** Handles one `task.process` message: every task in it ends done, retried later or dead-lettered. */
  async processQueued(org: string, tasks: QueuedTask[], source = "queue"): Promise<void> {
    const items: Item[] = [];
    const seen = new Map<number, string>();
    for (const q of tasks) {
      const v = validateTask(q.task);
      if (!v.ok) {
        await this.#store.invalid(org, q.task, v.message, source);
        continue;
      }
      const item: Item = { task: v.task, hash: await taskHash(v.task), attempt: q.attempt ?? 0, sub: q.sub };
      const prev = seen.get(item.task.task_id);
      if (prev === item.hash) continue; // the same task twice in one batch
      if (prev !== undefined) {
        await this.#store.terminal(org, item, new TaskConflictError(item.task.task_id).message, source);
        continue;
      }
      seen.set(item.task.task_id, item.hash);
      items.push(item);
    }
    if (items.length === 0) return;
    const out = await this.#store.claim(org, items);
    for (const item of out.conflicts) {
      await this.#store.terminal(org, item, new TaskConflictError(item.task.task_id).message, source);
    }
    if (out.busy.length) {
      // Another worker holds these; look again when its lease may have ended.
      const waitMs = Math.min(1000, Math.max(200, ...out.busy.map((b) => b.waitMs)));
      const op = this.#o.kv.atomic();
      this.#inbox.add(op, org, {
        tasks: out.busy.map((b) => ({ task: b.item.task, attempt: b.item.attempt, sub: b.item.sub })),
        source,
      }, waitMs);
      await op.commit();
    }
    if (out.claimed.length === 0) return;
    try {
      await this.#store.settle(org, await this.#call(org, out.claimed), source);
    } finally {
      for (const c of out.claimed) this.#store.release(org, c.task.task_id, c.vs);
    }
  }

  /**
   * The upstream's answer for each claimed task (an answer kept from a failed store is taken without calling
   * the upstream again), or why there is none.
   */
  #call(org: string, claimed: Claimed[]): Promise<Outcome[]> {
    return Promise.all(claimed.map(async (c): Promise<Outcome> => {
      if (c.kept) return { c, data: c.kept.data };
      try {
        return { c, data: await this.#limiter.run(() => this.#o.enrich(org, c.task, { deadline: this.#deadline(c) })) };
      } catch (error) {
        return { c, reason: errorMessage(error), transient: isTransientError(error) };
      }
    }));
  }

  /** When an upstream call's retries must stop: before the claim's lease ends, so no retry outlives it. */
  #deadline(c: Claimed): number {
    return c.until - Math.min(2000, this.#o.leaseMs / 10);
  }

  /** Splits tasks into `task.process` messages (≤ 100 tasks, ≤ ~48 KB each) and enqueues them; returns the message count. */
  submit(org: string, tasks: unknown[], source: string): Promise<number> {
    return this.#inbox.submit(org, tasks, source);
  }

  /** Records a task that failed validation as a dead letter (the same message REST answers with 422). */
  deadLetterInvalid(org: string, raw: unknown, reason: string, source: string): Promise<void> {
    return this.#store.invalid(org, raw, reason, source);
  }

  /** Marks a `task.process` message settled (its tasks are done, rescheduled or dead-lettered). */
  settled(messageId: string): Promise<void> {
    return this.#inbox.settled(messageId);
  }

  /** Re-enqueues messages that were in flight when the previous process died (inbox entries older than `before`). */
  recoverInbox(before: number): Promise<number> {
    return this.#inbox.recover(before);
  }

  /** Results after `cursor` (exclusive), oldest first. */
  async results(org: string, { after, limit = 100 }: { after?: string; limit?: number } = {}): Promise<ResultEntry[]> {
    const selector: Deno.KvListSelector = after
      ? { prefix: ["result", org], start: resultKey(org, after + "\0") }
      : { prefix: ["result", org] };
    const out: ResultEntry[] = [];
    for await (const e of this.#o.kv.list<ResultEntry>(selector, { limit })) out.push(e.value);
    return out;
  }

  /** Done and failed counts per task type. */
  async stats(org: string): Promise<Record<string, { done: number; failed: number }>> {
    const out: Record<string, { done: number; failed: number }> = {};
    for await (const e of this.#o.kv.list<Deno.KvU64>({ prefix: ["taskstat", org] })) {
      const [, , type, outcome] = e.key as [string, string, string, "done" | "failed"];
      (out[type] ??= { done: 0, failed: 0 })[outcome] = Number(e.value.value);
    }
    return out;
  }
}
