/** The processor's options, the task records it hands the task store, and the errors routes map (kinds: kinds.ts). */
import type { EventBus } from "../events/bus.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { QueueFor } from "../queue/queue.ts";
import type { EnrichmentKinds } from "./kinds.ts";
import type { Clock } from "../clock.ts";
import type { RowSink } from "./sinks/types.ts";
import type { Task } from "./task_schema.ts";
import { ConflictError } from "../errors.ts";

/** Where an organization's results go besides the event bus. */
export interface Deliveries {
  amqp: boolean;
  webhook: boolean;
}
/** Tasks per atomic commit: 100 checks is Deno KV's limit, and 4–5 mutations per task stay under 1000. */
export const COMMIT_CHUNK = 100;

/**
 * Calls the upstream for one task and returns what it answered (the row's `data`); retries stop
 * before `deadline` (the end of the caller's claim, less a margin).
 */
export type Enrich = (org: string, task: Task, call?: { deadline?: number }) => Promise<unknown>;

export interface ProcessorOptions {
  kv: Deno.Kv;
  sink: RowSink;
  queue: QueueFor<EnrichmentKinds>;
  events: EventBus;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  enrich: Enrich;
  /** How long a claim holds before another worker may take over (longer than the slowest upstream call with its retries). */
  leaseMs: number;
  /** Upstream calls at once in this process. Default 64. */
  concurrency?: number;
  /**
   * Waits before each new round for a task that failed transiently (after the client's own retries) or
   * whose store failed. Default: the queue's backoff, [1 s, 5 s, 30 s, 60 s, 300 s].
   */
  roundDelaysMs?: number[];
  /** Where the organization's results go besides `task.done` (read once per done commit). Default: nowhere. */
  deliveries?: (org: string) => Promise<Deliveries>;
  /** How long a synchronous request waits for a racing copy to finish. Default 30 s. */
  syncWaitMs?: number;
}

/** A validated task on its way through the processor. */
export interface Item {
  task: Task;
  hash: string;
  attempt: number;
  /** The submission this copy belongs to (see `QueuedTask.sub`); absent on messages from before it existed. */
  sub?: string;
}

/**
 * An item this process works on; `vs` is the versionstamp every later write checks: the claim's (queue
 * path), or of the state a synchronous request read (null: the task was new), which it writes without a claim.
 */
export interface Claimed extends Item {
  vs: string | null;
  /** When the claim's lease ends (epoch ms). */
  until: number;
  /** The upstream's answer from an earlier claim whose store failed: stored without calling the upstream again. */
  kept?: { data: unknown };
}

/** The same task_id came with other content: a 409 on REST, a dead letter on the queue. */
export class TaskConflictError extends ConflictError {
  override name = "TaskConflictError";
  constructor(readonly taskId: number) {
    super(
      `Cannot accept task ${taskId}: this task_id was already used with a different task_type or data — send new content with a new task_id`,
      { details: { task_id: taskId } },
    );
  }
}

/** DaData or YandexGPT refused the task or stayed unavailable through the retries. */
export class TaskFailedError extends Error {
  override name = "TaskFailedError";
  /** Whether another attempt can succeed (the upstream's failure was transient). */
  readonly transient: boolean;
  constructor(readonly taskId: number, message: string, { transient, cause }: { transient: boolean; cause?: unknown }) {
    super(message, { cause });
    this.transient = transient;
  }
}

/** A racing copy of the task is still being processed after the wait. */
export class TaskBusyError extends Error {
  override name = "TaskBusyError";
  constructor(readonly taskId: number) {
    super(`Task ${taskId} is still being processed by another request — retry in a few seconds`);
  }
}

/** The message of a thrown value, for reasons and events. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
