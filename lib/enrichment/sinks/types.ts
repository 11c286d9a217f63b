/**
 * Where enrichment rows go: table `integration_service(id, data, task_type)`
 * plus org, task_id, source and created_at. One interface, two sinks: KV (the
 * default) and Postgres (when DATABASE_URL is set). Both are idempotent by
 * `(org, task_id)`.
 */
import type { TaskType } from "../task_schema.ts";

export interface NewRow {
  task_id: number;
  task_type: TaskType;
  /** The input data of the task (the phone, the e-mail, the prompt). */
  source: string;
  /** What the service returned: the DaData record or the YandexGPT answer. */
  data: unknown;
  /** The task's content hash; a sink that keeps it refuses an existing row stored for other content. */
  hash?: string;
}

export interface Row extends Omit<NewRow, "hash"> {
  id: number;
  org: string;
  created_at: string;
}

/**
 * The sink refused a row for its value (PostgreSQL: a data exception or a constraint other than the
 * `(org, task_id)` key): storing it again cannot succeed, so that task fails alone; any other error a
 * sink throws is an outage, retried with the upstream's answer kept.
 */
export class RowRejectedError extends Error {
  override name = "RowRejectedError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface RowPage {
  items: Row[];
  /** Pass back as `cursor` for the next (older) page; absent on the last page. */
  cursor?: string;
}

/**
 * What `store` did: the rows' ids in order, and the writes a sink whose rows must commit together with their
 * tasks' done marks (the KV sink) hands to that commit — none for a sink that stored them itself (Postgres).
 */
export interface StoredRows {
  ids: number[];
  writes: Array<{ key: Deno.KvKey; value: unknown }>;
}

/** The port every sink implements; it never sees the caller's commit. */
export interface RowSink {
  /** For the status page and error messages. */
  readonly name: "kv" | "postgres";
  /**
   * Stores rows (or prepares them, see `StoredRows.writes`) and returns their ids, in order. Idempotent by
   * `(org, task_id)`: a row that exists keeps its id. Throws `RowRejectedError` when a row's value cannot be
   * stored (the caller then stores the others without it), `TaskConflictError` when the row stored for a task
   * has other content; anything else is an outage.
   */
  store(org: string, rows: NewRow[]): Promise<StoredRows>;
  /** Estimated bytes one row adds to the commit that marks its task done: 0 unless `store` hands over writes. */
  commitBytes(row: Pick<NewRow, "source" | "data">): number;
  get(org: string, id: number): Promise<Row | null>;
  /** Newest first; filter by type; cursor pagination. */
  list(org: string, opts?: { type?: TaskType; cursor?: string; limit?: number }): Promise<RowPage>;
  close(): Promise<void>;
}
