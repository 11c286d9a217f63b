/**
 * The processor: claims tasks, calls DaData or YandexGPT, stores the row and
 * records the result — once per `(organization, task_id)` whatever the path
 * (REST, KV queue, RabbitMQ) and however often a copy is delivered.
 *
 * One batch costs three KV commits whatever its size (claim, done, retries),
 * which is what lets the queue path carry many tasks per message. The "done"
 * commit checks every claim, writes the rows (KV sink), marks the tasks done,
 * appends the result log and enqueues `task.result`, atomically: a row and
 * its result exist together or not at all.
 */
import { isTransientError } from "../errors.ts";
import type { EventBus } from "../events.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Queue } from "../queue/queue.ts";
import type { Clock } from "../clock.ts";
import type { RowSink } from "./sinks/types.ts";
import { type Task, taskHash, type TaskResult, validateTask } from "./task_schema.ts";
import { Limiter, readStates, type ResultEntry, resultKey, statKey, taskKey, type TaskState } from "./task_state.ts";

export const PROCESS_KIND = "task.process";
export const RESULT_KIND = "task.result";
const RESULT_TTL = 7 * 24 * 3600_000;
/** Tasks per atomic commit: 100 checks is Deno KV's limit, and 4–5 mutations per task stay under 1000. */
const COMMIT_CHUNK = 100;

/** Calls the upstream for one task and returns what it answered (the row's `data`). */
export type Enrich = (org: string, task: Task) => Promise<unknown>;

/** A queued task: the raw task (validated by the handler) and how many rounds it has failed. */
export interface QueuedTask {
  task: unknown;
  attempt?: number;
}

export interface ProcessPayload {
  tasks: QueuedTask[];
  source: string;
}

interface InboxEntry {
  org: string;
  payload: ProcessPayload;
  /** When the message became due (epoch ms). */
  at: number;
}

const INBOX_TTL = 7 * 24 * 3600_000;
const inboxKey = (id: string): Deno.KvKey => ["inbox", id];

export interface ResultMessage {
  results: ResultEntry[];
}

export interface ProcessorOptions {
  kv: Deno.Kv;
  sink: RowSink;
  queue: Queue;
  events: EventBus;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  enrich: Enrich;
  /** How long a claim holds before another worker may take over (longer than the slowest upstream call with its retries). */
  leaseMs: number;
  /** Upstream calls at once in this process. Default 64. */
  concurrency?: number;
  /** Waits before each new round for a task that failed transiently (after the client's own retries). Default [2 s, 10 s, 30 s]. */
  roundDelaysMs?: number[];
  /** How long a synchronous request waits for a racing copy to finish. Default 30 s. */
  syncWaitMs?: number;
}

/** The same task_id came with other content: a 409 on REST, a dead letter on the queue. */
export class TaskConflictError extends Error {
  override name = "TaskConflictError";
  constructor(readonly taskId: number) {
    super(
      `Cannot accept task ${taskId}: this task_id was already used with a different task_type or data — send new content with a new task_id`,
    );
  }
}

/** DaData or YandexGPT refused the task or stayed unavailable through the retries. */
export class TaskFailedError extends Error {
  override name = "TaskFailedError";
  constructor(readonly taskId: number, message: string, readonly transient: boolean) {
    super(message);
  }
}

/** A racing copy of the task is still being processed after the wait. */
export class TaskBusyError extends Error {
  override name = "TaskBusyError";
  constructor(readonly taskId: number) {
    super(`Task ${taskId} is still being processed by another request — retry in a few seconds`);
  }
}

interface Item {
  task: Task;
  hash: string;
  attempt: number;
}
interface Claimed extends Item {
  vs: string;
}
interface ClaimOutcome {
  claimed: Claimed[];
  done: Array<{ item: Item; id: number }>;
  conflicts: Item[];
  busy: Array<{ item: Item; waitMs: number }>;
}

export class Processor {
  readonly #o: ProcessorOptions;
  readonly #limiter: Limiter;
  readonly #owner = newId();
  readonly #rounds: number[];
  /** Tasks this process is working on now; a claim of ours not in here was abandoned (a handler crashed). */
  readonly #active = new Set<string>();

  constructor(options: ProcessorOptions) {
    this.#o = options;
    this.#limiter = new Limiter(options.concurrency ?? 64);
    this.#rounds = options.roundDelaysMs ?? [2000, 10_000, 30_000];
    options.metrics.describe("shlyuz_enrichment_tasks_total", "Enrichment tasks by type and outcome");
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
      const out = await this.#claim(org, [item]);
      if (out.done.length) return { task_id: task.task_id, id: out.done[0].id };
      if (out.conflicts.length) throw new TaskConflictError(task.task_id);
      if (out.claimed.length) {
        const c = out.claimed[0];
        let id: number | undefined;
        try {
          let data: unknown;
          try {
            data = await this.#limiter.run(() => this.#o.enrich(org, task));
          } catch (error) {
            const reason = errorMessage(error);
            await this.#fail(org, [{ c, reason }], "rest");
            throw new TaskFailedError(task.task_id, reason, isTransientError(error));
          }
          id = (await this.#commitDone(org, [{ ...c, data }])).get(task.task_id);
        } finally {
          this.#active.delete(`${org}\0${task.task_id}`);
        }
        if (id !== undefined) return { task_id: task.task_id, id };
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
        await this.deadLetterInvalid(org, q.task, v.message, source);
        continue;
      }
      const item = { task: v.task, hash: await taskHash(v.task), attempt: q.attempt ?? 0 };
      const prev = seen.get(item.task.task_id);
      if (prev === item.hash) continue; // the same task twice in one batch
      if (prev !== undefined) {
        await this.#deadLetterTerminal(org, item, new TaskConflictError(item.task.task_id).message, source);
        continue;
      }
      seen.set(item.task.task_id, item.hash);
      items.push(item);
    }
    if (items.length === 0) return;
    const out = await this.#claim(org, items);
    for (const item of out.conflicts) {
      await this.#deadLetterTerminal(org, item, new TaskConflictError(item.task.task_id).message, source);
    }
    if (out.busy.length) {
      // Another worker holds these; look again when its lease may have ended.
      const waitMs = Math.min(1000, Math.max(200, ...out.busy.map((b) => b.waitMs)));
      const op = this.#o.kv.atomic();
      this.#addProcess(op, org, {
        tasks: out.busy.map((b) => ({ task: b.item.task, attempt: b.item.attempt })),
        source,
      }, waitMs);
      await op.commit();
    }
    if (out.claimed.length === 0) return;
    try {
      await this.#work(org, out.claimed, source);
    } finally {
      for (const c of out.claimed) this.#active.delete(`${org}\0${c.task.task_id}`);
    }
  }

  async #work(org: string, claimed: Claimed[], source: string): Promise<void> {
    const settled = await Promise.all(claimed.map((c) =>
      this.#limiter.run(() => this.#o.enrich(org, c.task)).then(
        (data) => ({ c, data, error: undefined as unknown }),
        (error: unknown) => ({ c, data: undefined, error }),
      )
    ));
    const ok = settled.filter((s) => s.error === undefined).map((s) => ({ ...s.c, data: s.data }));
    const retry = settled.filter((s) =>
      s.error !== undefined && isTransientError(s.error) && s.c.attempt < this.#rounds.length
    );
    const fail = settled.filter((s) => s.error !== undefined && !retry.includes(s));
    await this.#commitDone(org, ok);
    if (retry.length) {
      await this.#scheduleRetry(org, retry.map((s) => ({ c: s.c, reason: errorMessage(s.error) })), source);
    }
    if (fail.length) await this.#fail(org, fail.map((s) => ({ c: s.c, reason: errorMessage(s.error) })), source);
  }

  /** Splits tasks into `task.process` messages (≤ 100 tasks, ≤ ~48 KB each) and enqueues them; returns the message count. */
  async submit(org: string, tasks: unknown[], source: string): Promise<number> {
    const messages: Array<{ kind: string; org: string; payload: unknown }> = [];
    let cur: QueuedTask[] = [];
    let size = 0;
    for (const t of tasks) {
      const n = JSON.stringify(t).length * 3; // worst case: every char three UTF-8 bytes
      if (cur.length && (cur.length >= COMMIT_CHUNK || size + n > 48_000)) {
        messages.push({ kind: PROCESS_KIND, org, payload: { tasks: cur, source } });
        [cur, size] = [[], 0];
      }
      cur.push({ task: t, attempt: 0 });
      size += n;
    }
    if (cur.length) messages.push({ kind: PROCESS_KIND, org, payload: { tasks: cur, source } });
    // Two mutations per message (enqueue + inbox entry); 200 messages per commit stays under KV's 1000.
    for (let i = 0; i < messages.length; i += 200) {
      const op = this.#o.kv.atomic();
      for (const m of messages.slice(i, i + 200)) this.#addProcess(op, org, m.payload as ProcessPayload);
      const res = await op.commit();
      if (!res.ok) throw new Error("Cannot enqueue tasks: the KV commit was rejected");
    }
    return messages.length;
  }

  /** Records a task that failed validation as a dead letter (the same message REST answers with 422). */
  async deadLetterInvalid(org: string, raw: unknown, reason: string, source: string): Promise<void> {
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

  /** Results after `cursor` (exclusive), oldest first. */
  async results(org: string, { after, limit = 100 }: { after?: string; limit?: number } = {}): Promise<ResultEntry[]> {
    const selector: Deno.KvListSelector = after
      ? { start: resultKey(org, after + "\0"), end: resultKey(org, "\uffff") }
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

  async #claim(org: string, items: Item[], round = 0): Promise<ClaimOutcome> {
    const { kv, clock, leaseMs } = this.#o;
    const out: ClaimOutcome = { claimed: [], done: [], conflicts: [], busy: [] };
    const states = await readStates(kv, org, items.map((i) => i.task.task_id));
    const now = clock.now();
    const candidates: Array<{ item: Item; entry: Deno.KvEntryMaybe<TaskState> }> = [];
    for (const item of items) {
      const entry = states.get(item.task.task_id)!;
      const v = entry.value;
      if (v?.status === "done") {
        if (v.hash === item.hash) out.done.push({ item, id: v.id });
        else out.conflicts.push(item);
      } else if (
        v?.status === "processing" && v.leaseUntil > now &&
        !(v.owner === this.#owner && !this.#active.has(`${org}\0${item.task.task_id}`))
      ) {
        if (v.hash !== item.hash) out.conflicts.push(item);
        else out.busy.push({ item, waitMs: v.leaseUntil - now });
      } else {
        candidates.push({ item, entry });
      }
    }
    for (let i = 0; i < candidates.length; i += COMMIT_CHUNK) {
      const chunk = candidates.slice(i, i + COMMIT_CHUNK);
      const op = kv.atomic();
      for (const { item, entry } of chunk) {
        const claim: TaskState = {
          status: "processing",
          hash: item.hash,
          owner: this.#owner,
          leaseUntil: now + leaseMs,
          at: now,
        };
        op.check(entry).set(taskKey(org, item.task.task_id), claim);
      }
      const res = await op.commit();
      if (res.ok) {
        for (const { item } of chunk) {
          out.claimed.push({ ...item, vs: res.versionstamp });
          this.#active.add(`${org}\0${item.task.task_id}`);
        }
      } else if (round < 5) {
        // Someone raced us on at least one task: sort this chunk out again, task by task.
        for (const { item } of chunk) merge(out, await this.#claim(org, [item], round + 1));
      } else {
        for (const { item } of chunk) out.busy.push({ item, waitMs: 250 });
      }
    }
    return out;
  }

  /** Stores rows and marks tasks done; returns task_id → row id for the tasks whose claim still held. */
  async #commitDone(org: string, oks: Array<Claimed & { data: unknown }>): Promise<Map<number, number>> {
    const ids = new Map<number, number>();
    for (let i = 0; i < oks.length; i += COMMIT_CHUNK) {
      const chunk = oks.slice(i, i + COMMIT_CHUNK);
      if (await this.#commitChunk(org, chunk, ids)) continue;
      // A claim in the chunk was lost (lease expired, another worker took over): commit the rest one by one.
      for (const one of chunk) await this.#commitChunk(org, [one], ids);
    }
    return ids;
  }

  async #commitChunk(
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

  async #scheduleRetry(org: string, items: Array<{ c: Claimed; reason: string }>, source: string): Promise<void> {
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
      this.#addProcess(op, org, {
        tasks: group.map(({ c }) => ({ task: c.task, attempt: attempt + 1 })),
        source,
      }, Math.round(base / 2 + Math.random() * base / 2));
      const res = await op.commit();
      if (!res.ok) this.#o.log.warn("retry not scheduled: a claim was taken over", { org, count: group.length });
      this.#o.metrics.inc("shlyuz_enrichment_tasks_total", { type: "any", outcome: "retry" }, group.length);
    }
  }

  async #fail(org: string, items: Array<{ c: Claimed; reason: string }>, source: string): Promise<void> {
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

  async #deadLetterTerminal(org: string, item: Item, reason: string, source: string): Promise<void> {
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

  /**
   * Enqueues a `task.process` message and records it in the inbox
   * `["inbox", id]` until a handler has settled it. Deno KV on a file hands
   * the messages a killed process had in flight to the next process only
   * after about a minute; `recoverInbox()` at start-up re-enqueues them at
   * once (the claims make the late original copies harmless).
   */
  #addProcess(op: Deno.AtomicOperation, org: string, payload: ProcessPayload, delayMs?: number) {
    const env = this.#o.queue.addTo(op, PROCESS_KIND, org, payload, { delayMs });
    op.set(inboxKey(env.id), { org, payload, at: this.#o.clock.now() + (delayMs ?? 0) } satisfies InboxEntry, {
      expireIn: INBOX_TTL,
    });
  }

  /** Marks a `task.process` message settled (its tasks are done, rescheduled or dead-lettered). */
  async settled(messageId: string): Promise<void> {
    await this.#o.kv.delete(inboxKey(messageId));
  }

  /**
   * Re-enqueues messages that were in flight when the previous process died
   * (inbox entries older than `before`). Returns how many.
   */
  async recoverInbox(before: number): Promise<number> {
    let n = 0;
    for await (const e of this.#o.kv.list<InboxEntry>({ prefix: ["inbox"] })) {
      if (e.value.at >= before) continue;
      const op = this.#o.kv.atomic().check(e).delete(e.key);
      this.#addProcess(op, e.value.org, e.value.payload);
      if ((await op.commit()).ok) n++;
    }
    if (n) this.#o.log.info("re-enqueued task batches left in flight by the previous process", { count: n });
    return n;
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

function merge(into: ClaimOutcome, from: ClaimOutcome) {
  into.claimed.push(...from.claimed);
  into.done.push(...from.done);
  into.conflicts.push(...from.conflicts);
  into.busy.push(...from.busy);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
