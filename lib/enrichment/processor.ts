/**
 * The processor: claims tasks, calls DaData or YandexGPT, stores the row and
 * records the result — once per `(organization, task_id)` whatever the path
 * (REST, KV queue, RabbitMQ) and however often a copy is delivered.
 *
 * One batch costs three KV commits whatever its size (claim, done, retries),
 * which is what lets the queue path carry many tasks per message. The "done"
 * commit checks every claim, writes the rows (KV sink), marks the tasks done,
 * appends the result log and enqueues `task.result`, atomically: a row and
 * its result exist together or not at all. The parts: claims.ts (who works on
 * a task), outcomes.ts (what became of it), inbox.ts (enqueuing and
 * recovering `task.process` messages).
 */
import { isTransientError } from "../errors.ts";
import { Claims } from "./claims.ts";
import { GroupCommit } from "./group_commit.ts";
import { Inbox } from "./inbox.ts";
import { type DoneAnswer, Outcomes } from "./outcomes.ts";
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
import { Limiter, type ResultEntry, resultKey } from "./task_state.ts";

export {
  type Enrich,
  type ProcessorOptions,
  TaskBusyError,
  TaskConflictError,
  TaskFailedError,
} from "./processor_types.ts";

/** What a claim found for one synchronous task. */
type ClaimAnswer = { claimed: Claimed } | { done: number } | "conflict" | "busy";

export class Processor {
  readonly #o: ProcessorOptions;
  readonly #limiter: Limiter;
  readonly #rounds: number[];
  readonly #claims: Claims;
  readonly #inbox: Inbox;
  readonly #outcomes: Outcomes;
  /** Synchronous requests arriving together share claim and done commits (and one `task.result`). */
  readonly #claimGroup: GroupCommit<Item, ClaimAnswer>;
  readonly #doneGroup: GroupCommit<Claimed & { data: unknown }, DoneAnswer | undefined>;

  constructor(options: ProcessorOptions) {
    this.#o = options;
    this.#limiter = new Limiter(options.concurrency ?? 64);
    this.#rounds = options.roundDelaysMs ?? [2000, 10_000, 30_000];
    this.#claims = new Claims(options);
    this.#inbox = new Inbox(options);
    this.#outcomes = new Outcomes(options, this.#inbox, this.#rounds);
    this.#claimGroup = new GroupCommit({
      max: COMMIT_CHUNK,
      keyOf: (i) => i.task.task_id,
      flush: async (org, items) => {
        const out = await this.#claims.claim(org, items);
        const by = new Map<number, ClaimAnswer>();
        for (const c of out.claimed) by.set(c.task.task_id, { claimed: c });
        for (const d of out.done) by.set(d.item.task.task_id, { done: d.id });
        for (const i of out.conflicts) by.set(i.task.task_id, "conflict");
        for (const b of out.busy) by.set(b.item.task.task_id, "busy");
        return items.map((i) => by.get(i.task.task_id)!);
      },
    });
    this.#doneGroup = new GroupCommit({
      max: COMMIT_CHUNK,
      keyOf: (c) => c.task.task_id,
      flush: async (org, oks) => {
        const answers = await this.#outcomes.done(org, oks, "rest");
        return oks.map((c) => answers.get(c.task.task_id));
      },
    });
  }

  get sink(): RowSink {
    return this.#o.sink;
  }

  /** Processes one task now (REST, synchronous) and returns `{task_id, id}`. */
  async processNow(org: string, task: Task): Promise<TaskResult> {
    const { clock } = this.#o;
    const item: Item = { task, hash: await taskHash(task), attempt: 0 };
    const deadline = clock.now() + (this.#o.syncWaitMs ?? 30_000);
    for (let pause = 10;; pause = Math.min(pause * 2, 200)) {
      const got = await this.#claimGroup.submit(org, item);
      if (got === "conflict") throw new TaskConflictError(task.task_id);
      if (typeof got === "object" && "done" in got) return { task_id: task.task_id, id: got.done };
      if (typeof got === "object") {
        const c = got.claimed;
        let answer: DoneAnswer | undefined;
        try {
          let data: unknown;
          try {
            data = await this.#limiter.run(() => this.#o.enrich(org, task, { deadline: this.#deadline(c) }));
          } catch (error) {
            const reason = errorMessage(error);
            await this.#outcomes.fail(org, [{ c, reason }], "rest");
            throw new TaskFailedError(task.task_id, reason, { transient: isTransientError(error), cause: error });
          }
          answer = await this.#doneGroup.submit(org, { ...c, data });
        } finally {
          this.#claims.release(org, task.task_id, c.vs);
        }
        if (answer && "id" in answer) return { task_id: task.task_id, id: answer.id };
        if (answer?.conflict) throw new TaskConflictError(task.task_id);
        if (answer) throw new TaskFailedError(task.task_id, answer.failed, { transient: false });
        continue; // our claim was taken over; the loop finds the owner's result
      }
      if (clock.now() >= deadline) throw new TaskBusyError(task.task_id);
      await clock.sleep(pause);
    }
  }

  /** Handles one `task.process` message: every task in it ends done, retried later or dead-lettered. */
  async processQueued(org: string, tasks: QueuedTask[], source = "queue"): Promise<void> {
    const items: Item[] = [];
    const seen = new Map<number, string>();
    for (const q of tasks) {
      const v = validateTask(q.task);
      if (!v.ok) {
        await this.#outcomes.invalid(org, q.task, v.message, source);
        continue;
      }
      const item = { task: v.task, hash: await taskHash(v.task), attempt: q.attempt ?? 0 };
      const prev = seen.get(item.task.task_id);
      if (prev === item.hash) continue; // the same task twice in one batch
      if (prev !== undefined) {
        await this.#outcomes.terminal(org, item, new TaskConflictError(item.task.task_id).message, source);
        continue;
      }
      seen.set(item.task.task_id, item.hash);
      items.push(item);
    }
    if (items.length === 0) return;
    const out = await this.#claims.claim(org, items);
    for (const item of out.conflicts) {
      await this.#outcomes.terminal(org, item, new TaskConflictError(item.task.task_id).message, source);
    }
    if (out.busy.length) {
      // Another worker holds these; look again when its lease may have ended.
      const waitMs = Math.min(1000, Math.max(200, ...out.busy.map((b) => b.waitMs)));
      const op = this.#o.kv.atomic();
      this.#inbox.add(op, org, {
        tasks: out.busy.map((b) => ({ task: b.item.task, attempt: b.item.attempt })),
        source,
      }, waitMs);
      await op.commit();
    }
    if (out.claimed.length === 0) return;
    try {
      await this.#work(org, out.claimed, source);
    } finally {
      for (const c of out.claimed) this.#claims.release(org, c.task.task_id, c.vs);
    }
  }

  async #work(org: string, claimed: Claimed[], source: string): Promise<void> {
    const settled = await Promise.all(
      claimed.map((c) =>
        this.#limiter.run(() => this.#o.enrich(org, c.task, { deadline: this.#deadline(c) })).then(
          (data) => ({ c, data, error: undefined as unknown }),
          (error: unknown) => ({ c, data: undefined, error }),
        )
      ),
    );
    const ok = settled.filter((s) => s.error === undefined).map((s) => ({ ...s.c, data: s.data }));
    const retry = settled.filter((s) =>
      s.error !== undefined && isTransientError(s.error) && s.c.attempt < this.#rounds.length
    );
    const fail = settled.filter((s) => s.error !== undefined && !retry.includes(s));
    await this.#outcomes.done(org, ok, source);
    if (retry.length) {
      await this.#outcomes.retry(org, retry.map((s) => ({ c: s.c, reason: errorMessage(s.error) })), source);
    }
    if (fail.length) {
      await this.#outcomes.fail(org, fail.map((s) => ({ c: s.c, reason: errorMessage(s.error) })), source);
    }
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
    return this.#outcomes.invalid(org, raw, reason, source);
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
