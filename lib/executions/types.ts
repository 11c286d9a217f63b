/**
 * One executions journal across areas: the row shape the API answers and the
 * journal island renders. Pure types only: islands import this module.
 */

export const EXEC_AREAS = ["scheduler", "enrichment", "onec", "dead"] as const;
export type ExecArea = (typeof EXEC_AREAS)[number];

/** `ok`; `failed` (errors, timeouts, dead letters, rejected 1C requests); `other` (running, queued, skipped, missed). */
export const EXEC_OUTCOMES = ["ok", "failed", "other"] as const;
export type ExecOutcome = (typeof EXEC_OUTCOMES)[number];

/** How a failed row can be tried again. */
export type RetryKind = "redrive" | "run_again";

/** A key/value line of a row's details; `key` is worded by the page (`executions.field.<key>`) when known. */
export interface ExecField {
  key: string;
  value: string;
}

export interface ExecutionRow {
  /** `<source>:<id>`: `run:…`, `result:…`, `dead:…`, `onec:…` — what retry takes. */
  ref: string;
  area: ExecArea;
  /** A ULID: rows sort by it, newest first; the cursor is one. */
  id: string;
  /** ISO time of the execution (a dead letter: when it failed). */
  at: string;
  outcome: ExecOutcome;
  /** The precise status in the area's own words (`ok`, `timeout`, `missed`, `update_failed`, `dead`…). */
  status: string;
  /** What ran: the schedule's name, `phone #12`, the 1C ids of a request, a message kind. */
  title: string;
  /** Why it failed, when it did. */
  reason?: string;
  durationMs?: number;
  /** True for a dead letter (the `dead` area filter matches these in every area). */
  dead: boolean;
  retry?: RetryKind;
  fields: ExecField[];
}

export interface ExecutionFilter {
  area?: ExecArea;
  outcome?: ExecOutcome;
  /** ISO times; `from` inclusive, `to` exclusive. */
  from?: string;
  to?: string;
  /** An id to look for: a 1C id, task_id, schedule name or id, run id, request id, dead-letter id. */
  q?: string;
}

export interface ExecutionPage {
  items: ExecutionRow[];
  /** Pass back as `cursor` for older rows; absent at the end. */
  cursor?: string;
}

export interface RetryOutcome {
  ref: string;
  ok: boolean;
  /** What happened: `redriven`, `run_queued`, or why not (`not_found`, `not_retryable`, `already_queued`). */
  result: string;
}

export interface RetryReport {
  retried: number;
  failed: number;
  results: RetryOutcome[];
}
