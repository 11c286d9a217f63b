/**
 * Turns each store's records into journal rows: schedule runs, enrichment
 * results, 1C intake log entries and dead letters. Details become key/value
 * lines (nested payloads flattened to `tasks.0.task.data = …`), never a JSON line.
 */
import type { Run } from "../scheduler/schedule_schema.ts";
import type { ResultEntry } from "../enrichment/task_state.ts";
import type { LogEntry } from "../onec/store.ts";
import type { DeadLetter } from "../queue/dead_letters.ts";
import { idTime } from "../ids.ts";
import type { ExecArea, ExecField, ExecOutcome, ExecutionRow } from "./types.ts";

/** A row and the ids a search may find it by (lower-cased). */
export interface Indexed {
  row: ExecutionRow;
  ids: string[];
}

const MAX_FIELDS = 60;
const MAX_VALUE = 2000;

function field(out: ExecField[], key: string, value: unknown): void {
  if (value === undefined || value === null || value === "") return;
  const text = typeof value === "string" ? value : String(value);
  out.push({ key, value: text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text });
}

/** Nested data as `a.b.0.c = value` lines, at most MAX_FIELDS of them. */
export function flatten(value: unknown, prefix: string, out: ExecField[] = []): ExecField[] {
  if (out.length >= MAX_FIELDS) return out;
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (!entries.length) field(out, prefix, Array.isArray(value) ? "[]" : "{}");
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  field(out, prefix || "value", value);
  return out;
}

const lower = (xs: Array<string | number | undefined>) =>
  xs.filter((x) => x !== undefined && x !== "").map((x) => String(x).toLowerCase());

function runOutcome(o: Run["outcome"]): ExecOutcome {
  return o === "ok" ? "ok" : o === "failed" || o === "timeout" ? "failed" : "other";
}

export function runRow(run: Run): Indexed {
  const fields: ExecField[] = [];
  field(fields, "schedule", run.scheduleName);
  field(fields, "scheduleId", run.scheduleId);
  field(fields, "runId", run.id);
  field(fields, "trigger", run.trigger);
  field(fields, "plannedAt", run.plannedAt);
  field(fields, "startedAt", run.startedAt);
  field(fields, "finishedAt", run.finishedAt);
  field(fields, "durationMs", run.durationMs);
  field(fields, "attempts", run.attempts);
  field(fields, "httpStatus", run.httpStatus);
  field(fields, "jobId", run.jobId);
  field(fields, "missedCount", run.missedCount);
  field(fields, "timezone", run.timezone);
  field(fields, "reason", run.reason);
  field(fields, "responseBody", run.responseBody);
  const outcome = runOutcome(run.outcome);
  return {
    row: {
      ref: `run:${run.id}`,
      area: "scheduler",
      id: run.id,
      at: run.finishedAt ?? run.startedAt ?? run.plannedAt,
      outcome,
      status: run.outcome,
      title: run.scheduleName,
      reason: run.reason,
      durationMs: run.durationMs,
      dead: false,
      retry: outcome === "failed" ? "run_again" : undefined,
      fields,
    },
    ids: lower([run.id, run.scheduleId, run.scheduleName, run.jobId]),
  };
}

export function resultRow(r: ResultEntry): Indexed {
  const fields: ExecField[] = [];
  field(fields, "task_id", r.task_id);
  field(fields, "task_type", r.task_type);
  field(fields, "rowId", r.id);
  field(fields, "at", r.at);
  return {
    row: {
      ref: `result:${r.cursor}`,
      area: "enrichment",
      id: r.cursor,
      at: r.at,
      outcome: "ok",
      status: "done",
      title: `${r.task_type} #${r.task_id}`,
      dead: false,
      fields,
    },
    ids: lower([r.cursor, r.task_id, `#${r.task_id}`, r.id]),
  };
}

export function onecRow(e: LogEntry): Indexed {
  const fields: ExecField[] = [];
  field(fields, "requestId", e.requestId);
  field(fields, "durationMs", e.durationMs);
  field(fields, "bitrixCalls", e.bitrixCalls);
  e.tasks.forEach((t, i) => {
    const p = `tasks.${i + 1}`;
    field(fields, `${p}.onecId`, t.onecId);
    field(fields, `${p}.title`, t.title);
    field(fields, `${p}.op`, t.op);
    field(fields, `${p}.taskId`, t.taskId);
    field(fields, `${p}.url`, t.url);
    field(fields, `${p}.responsible`, t.responsible?.name);
    field(fields, `${p}.section`, t.section);
    field(fields, `${p}.unassigned`, t.unassigned ? "yes" : undefined);
    field(fields, `${p}.reason`, t.reason);
    field(fields, `${p}.error`, t.error);
  });
  const status = e.outcome as string;
  const failedTask = e.tasks.find((t) => t.error);
  return {
    row: {
      ref: `onec:${e.id}`,
      area: "onec",
      id: e.id,
      at: e.at,
      outcome: status === "ok" ? "ok" : "failed",
      status,
      title: e.tasks.map((t) => t.onecId).join(", ") || e.requestId,
      reason: failedTask?.error ?? (e as LogEntry & { reason?: string }).reason,
      durationMs: e.durationMs,
      dead: false,
      fields,
    },
    ids: lower([e.id, e.requestId, ...e.tasks.flatMap((t) => [t.onecId, t.taskId])]),
  };
}

/** The area a dead letter belongs to, by its message kind. */
export function areaOfKind(kind: string): ExecArea {
  if (kind.startsWith("task.")) return "enrichment";
  if (kind.startsWith("schedule.")) return "scheduler";
  if (kind.startsWith("onec.") || kind.startsWith("bitrix.")) return "onec";
  return "dead";
}

interface TaskLike {
  task?: { task_id?: unknown; task_type?: unknown };
}

export function deadRow(d: DeadLetter, { payloads }: { payloads: boolean }): Indexed {
  const env = (d.envelope ?? {}) as { payload?: Record<string, unknown> };
  const payload = env.payload ?? {};
  const tasks = Array.isArray(payload.tasks) ? (payload.tasks as TaskLike[]) : [];
  const taskIds = tasks.map((t) => t.task?.task_id).filter((x) => x !== undefined).map(String);
  const fields: ExecField[] = [];
  field(fields, "kind", d.kind);
  field(fields, "deadId", d.id);
  field(fields, "failedAt", d.failedAt);
  field(fields, "attempts", d.attempts);
  field(fields, "reason", d.reason);
  if (payloads) flatten(payload, "payload", fields);
  const one = tasks.length === 1 ? tasks[0].task : undefined;
  const title = one && one.task_id !== undefined ? `${one.task_type ?? "task"} #${one.task_id}` : d.kind;
  const at = d.failedAt || new Date(idTime(d.id) ?? 0).toISOString();
  return {
    row: {
      ref: `dead:${d.id}`,
      area: areaOfKind(d.kind),
      id: d.id,
      at,
      outcome: "failed",
      status: "dead",
      title,
      reason: d.reason,
      dead: true,
      retry: "redrive",
      fields,
    },
    ids: lower([d.id, d.kind, ...taskIds, ...taskIds.map((t) => `#${t}`), payload.scheduleId as string]),
  };
}
