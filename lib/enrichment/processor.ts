/**
 * The processor: claims tasks, calls DaData or YandexGPT, stores the row and
 * records the result — once per `(organization, task_id)` whatever the path
 * (REST, KV queue, RabbitMQ) and however often a copy is delivered.
 *
 * A queued batch costs two KV commits whatever its size (claim, done; a
 * third for retries), which is what lets the queue path carry many tasks per
 * message. A synchronous request makes no claim commit: copies in this
 * process wait for the first, and its done commit checks the state it read.
 * The "done" commit checks every claim (or read), writes the rows (KV sink),
 * marks the tasks done, appends the result log, records `task.done` and
 * enqueues the RabbitMQ and webhook hand-offs, atomically: a row and its
 * result exist together or not at all. The parts: claims.ts (who works on a
 * task), outcomes.ts (what became of it), inbox.ts (enqueuing and recovering
 * `task.process` messages).
 */
import { isTransientError } from "../errors.ts";
import { newId } from "../ids.ts";
import { Claims } from "./claims.ts";
import { GroupCommit } from "./group_commit.ts";
import { Inbox } from "./inbox.ts";
import { type DoneAnswer, type Failure, Outcomes } from "./outcomes.ts";
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
import { Limiter, type ResultEntry, resultKey, taskKey, type TaskState } from "./task_state.ts";

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
  readonly #rounds: number[];
  readonly #claims: Claims;
  readonly #inbox: Inbox;
  readonly #outcomes: Outcomes;
  /** Synchronous requests arriving together share their done commits (and one `task.result`). */
  readonly #doneGroup: GroupCommit<Claimed & { data: unknown }, DoneAnswer | undefined>;

  constructor(options: ProcessorOptions) {
    this.#o = options;
    this.#limiter = new Limiter(options.concurrency ?? 64);
    this.#rounds = options.roundDelaysMs ?? [1000, 5000, 30_000, 60_000, 300_000];
    this.#claims = new Claims(options);
    this.#inbox = new Inbox(options);
    this.#outcomes = new Outcomes(options, this.#inbox, this.#rounds);
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

  /**
   * Processes one task now (REST, synchronous) and returns `{task_id, id}`. No claim commit: copies in this
   * process wait for the first (`Claims.fly`), and the done commit checks the task state read here, so a
   * copy that raced in by another path (or process) writes nothing and the loop answers with its result.
   */
  async processNow(org: string, task: Task): Promise<TaskResult> {
    const { clock, kv } = this.#o;
    // Each request is a submission of its own: a task that failed may be sent again.
    const item: Item = { task, hash: await taskHash(task), attempt: 0, sub: newId() };
    const deadline = clock.now() + (this.#o.syncWaitMs ?? 30_000);
    for (let pause = 10;; pause = Math.min(pause * 2, 200)) {
      const flight = this.#claims.fly(org, task.task_id, item.hash);
      if (!("end" in flight)) {
        if (flight.hash !== item.hash) throw new TaskConflictError(task.task_id);
        await flight.landed; // the first copy's outcome is in KV now
        continue;
      }
      let busy = false;
      try {
        if (this.#claims.working(org, task.task_id)) busy = true; // the queue path of this process has it
        else {
          const entry = await kv.get<TaskState>(taskKey(org, task.task_id));
          const now = clock.now();
          const found = this.#claims.sort(org, item, entry.value, now);
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

  /** Calls the upstream (or takes the kept answer) and commits the outcome; null when the state moved meanwhile. */
  async #runNow(org: string, c: Claimed): Promise<TaskResult | null> {
    const task = c.task;
    let data: unknown;
    if (c.kept) data = c.kept.data; // an earlier request's store failed: store its answer
    else {
      try {
        data = await this.#limiter.run(() => this.#o.enrich(org, task, { deadline: this.#deadline(c) }));
      } catch (error) {
        const reason = errorMessage(error);
        const recorded = await this.#outcomes.fail(org, [{ c, reason }], "rest");
        if (!recorded.has(task.task_id)) return null;
        throw new TaskFailedError(task.task_id, reason, { transient: isTransientError(error), cause: error });
      }
    }
    const answer = await this.#doneGroup.submit(org, { ...c, data });
    if (!answer) return null;
    if ("id" in answer) return { task_id: task.task_id, id: answer.id };
    if ("unstored" in answer) {
      // The sink is away: keep the answer for the caller's repeat (503), which only stores it.
      await this.#outcomes.retry(org, [{ c, reason: answer.unstored, kept: { data } }], "rest", { enqueue: false });
      throw new TaskFailedError(task.task_id, answer.unstored, { transient: true });
    }
    if (answer.conflict) throw new TaskConflictError(task.task_id);
    throw new TaskFailedError(task.task_id, answer.failed, { transient: false });
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
      const item: Item = { task: v.task, hash: await taskHash(v.task), attempt: q.attempt ?? 0, sub: q.sub };
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
        tasks: out.busy.map((b) => ({ task: b.item.task, attempt: b.item.attempt, sub: b.item.sub })),
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
        // An answer kept from a failed store is stored without calling the upstream again.
        (c.kept
          ? Promise.resolve(c.kept.data)
          : this.#limiter.run(() => this.#o.enrich(org, c.task, { deadline: this.#deadline(c) }))).then(
            (data) => ({ c, data, error: undefined as unknown }),
            (error: unknown) => ({ c, data: undefined, error }),
          )
      ),
    );
    const ok = settled.filter((s) => s.error === undefined).map((s) => ({ ...s.c, data: s.data }));
    // Transient failures (the upstream after the client's retries, or the sink) get another round until
    // the rounds are used up; the others fail now.
    const failures: Array<Failure & { transient: boolean }> = settled.filter((s) => s.error !== undefined).map((
      s,
    ) => ({ c: s.c, reason: errorMessage(s.error), transient: isTransientError(s.error) }));
    const answers = await this.#outcomes.done(org, ok, source);
    for (const s of ok) {
      const a = answers.get(s.task.task_id);
      if (a && "unstored" in a) failures.push({ c: s, reason: a.unstored, kept: { data: s.data }, transient: true });
    }
    const canRetry = (f: { c: Claimed; transient: boolean }) => f.transient && f.c.attempt < this.#rounds.length;
    const retry = failures.filter(canRetry);
    const fail = failures.filter((f) => !canRetry(f));
    if (retry.length) await this.#outcomes.retry(org, retry, source);
    if (fail.length) await this.#outcomes.fail(org, fail, source);
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
