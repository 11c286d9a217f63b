/**
 * The executions journal: rows of every area, newest first, each expanding to
 * key/value details; retry from a failed row or for the whole filter, with
 * the outcome shown in place. Live: an event makes it fetch the first page
 * again with the same filter, so new rows appear and re-driven ones go.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";
import type { ExecField, ExecutionFilter, ExecutionPage, ExecutionRow, RetryReport } from "../lib/executions/types.ts";

export interface ExecutionsJournalProps {
  initial: ExecutionPage;
  filter: ExecutionFilter;
  /** The `executions.` and `common.` messages, the language and the organization's zone. */
  i18n: IslandI18n;
  /** Operators and above may retry. */
  canRetry: boolean;
}

const STATUS: Record<string, MessageKey> = {
  ok: "executions.status.ok",
  done: "executions.status.done",
  failed: "executions.status.failed",
  timeout: "executions.status.timeout",
  skipped: "executions.status.skipped",
  missed: "executions.status.missed",
  running: "executions.status.running",
  queued: "executions.status.queued",
  dead: "executions.status.dead",
  update_failed: "executions.status.update_failed",
  rejected: "executions.status.rejected",
};
const AREA: Record<string, MessageKey> = {
  scheduler: "executions.area.scheduler",
  enrichment: "executions.area.enrichment",
  onec: "executions.area.onec",
  dead: "executions.area.dead",
};
const RESULT: Record<string, MessageKey> = {
  redriven: "executions.retry.result.redriven",
  run_queued: "executions.retry.result.run_queued",
  already_queued: "executions.retry.result.already_queued",
  not_found: "executions.retry.result.not_found",
  not_retryable: "executions.retry.result.not_retryable",
};
const FIELD: Record<string, MessageKey> = {
  schedule: "executions.field.schedule",
  scheduleId: "executions.field.scheduleId",
  runId: "executions.field.runId",
  trigger: "executions.field.trigger",
  plannedAt: "executions.field.plannedAt",
  startedAt: "executions.field.startedAt",
  finishedAt: "executions.field.finishedAt",
  durationMs: "executions.field.durationMs",
  attempts: "executions.field.attempts",
  httpStatus: "executions.field.httpStatus",
  jobId: "executions.field.jobId",
  missedCount: "executions.field.missedCount",
  timezone: "executions.field.timezone",
  reason: "executions.field.reason",
  responseBody: "executions.field.responseBody",
  task_id: "executions.field.task_id",
  task_type: "executions.field.task_type",
  rowId: "executions.field.rowId",
  at: "executions.field.at",
  requestId: "executions.field.requestId",
  bitrixCalls: "executions.field.bitrixCalls",
  kind: "executions.field.kind",
  deadId: "executions.field.deadId",
  failedAt: "executions.field.failedAt",
  onecId: "executions.field.onecId",
  title: "executions.field.title",
  op: "executions.field.op",
  taskId: "executions.field.taskId",
  url: "executions.field.url",
  responsible: "executions.field.responsible",
  section: "executions.field.section",
  unassigned: "executions.field.unassigned",
  error: "executions.field.error",
};
const TIME_FIELDS = new Set(["plannedAt", "startedAt", "finishedAt", "at", "failedAt"]);

function query(filter: ExecutionFilter, cursor?: string): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) qs.set(k, String(v));
  if (cursor) qs.set("cursor", cursor);
  return qs.toString();
}

export default function ExecutionsJournal({ initial, filter, i18n, canRetry }: ExecutionsJournalProps) {
  const [rows, setRows] = useState<ExecutionRow[]>(initial.items);
  const [cursor, setCursor] = useState<string | undefined>(initial.cursor);
  const [open, setOpen] = useState(false);
  const [notes, setNotes] = useState<Record<string, { ok: boolean; text: string }>>({});
  const [bulk, setBulk] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  /** Rows retried here stay on the list with their note, even once their dead letter is gone. */
  const kept = useRef(new Map<string, ExecutionRow>());
  const tr = islandTranslator(i18n);
  const timeZone = i18n.timeZone;
  const { t } = tr;

  const refreshTop = async () => {
    const res = await api<ExecutionPage>(`/api/v1/executions?${query(filter)}`);
    if (!res.ok) return;
    const fresh = res.data.items;
    setRows((old) => {
      const floor = fresh.length ? fresh[fresh.length - 1].id : "";
      const seen = new Set(fresh.map((r) => r.ref));
      const keep = [...kept.current.values()].filter((r) => !seen.has(r.ref) && r.id >= floor);
      const older = fresh.length ? old.filter((r) => r.id < floor && !seen.has(r.ref)) : [];
      return [...fresh, ...keep, ...older].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    });
  };

  useEffect(() => {
    let busyFetch = false;
    let again = false;
    const refresh = async () => {
      if (busyFetch) {
        again = true;
        return;
      }
      busyFetch = true;
      try {
        do {
          again = false;
          await refreshTop();
        } while (again);
      } finally {
        busyFetch = false;
      }
    };
    return liveEvents([], () => void refresh(), setOpen);
  }, []);

  const more = async () => {
    setBusy("more");
    const res = await api<ExecutionPage>(`/api/v1/executions?${query(filter, cursor)}`);
    setBusy(null);
    if (!res.ok) return;
    setRows((old) => [...old, ...res.data.items.filter((r) => !old.some((o) => o.ref === r.ref))]);
    setCursor(res.data.cursor);
  };

  const report = (r: RetryReport) => t("executions.retry.report", { retried: r.retried, failed: r.failed });

  const retryOne = async (row: ExecutionRow) => {
    setBusy(row.ref);
    const res = await api<RetryReport>("/api/v1/executions/retry", { body: { refs: [row.ref] } });
    setBusy(null);
    const one = res.ok ? res.data.results[0] : undefined;
    kept.current.set(row.ref, row);
    setBulk(res.ok ? { ok: res.data.failed === 0, text: report(res.data) } : null);
    setNotes((n) => ({
      ...n,
      [row.ref]: one
        ? { ok: one.ok, text: t(RESULT[one.result] ?? "executions.retry.result.not_retryable") }
        : { ok: false, text: t("executions.retry.error", { message: res.error ?? String(res.status) }) },
    }));
    await refreshTop();
  };

  const retryAll = async () => {
    if (!globalThis.confirm(t("executions.retry.bulk.confirm"))) return;
    setBusy("bulk");
    const res = await api<RetryReport>("/api/v1/executions/retry", { body: { filter } });
    setBusy(null);
    setBulk(
      res.ok
        ? { ok: res.data.failed === 0, text: report(res.data) }
        : { ok: false, text: t("executions.retry.error", { message: res.error ?? String(res.status) }) },
    );
    await refreshTop();
  };

  const value = (f: ExecField) => {
    const last = f.key.split(".").pop() ?? f.key;
    if (TIME_FIELDS.has(last) && !Number.isNaN(Date.parse(f.value))) return tr.dateTime(f.value, timeZone);
    return f.value;
  };
  const label = (f: ExecField) => {
    const parts = f.key.split(".");
    if (parts[0] === "tasks" && parts.length === 3) {
      return `${t("executions.field.task", { n: parts[1] })}: ${FIELD[parts[2]] ? t(FIELD[parts[2]]) : parts[2]}`;
    }
    return FIELD[f.key] ? t(FIELD[f.key]) : f.key;
  };

  return (
    <div class="journal">
      <p class="journal-bar">
        <small data-testid="stream-state">{open ? t("common.live") : t("common.connecting")}</small>
        {canRetry && (filter.outcome === "failed" || filter.area === "dead") && (
          <button
            type="button"
            class="secondary"
            data-testid="bulk-retry"
            aria-busy={busy === "bulk"}
            onClick={retryAll}
          >
            {t("executions.retry.bulk")}
          </button>
        )}
      </p>
      {bulk && <p role="status" data-testid="bulk-report" class={bulk.ok ? "ok" : "error"}>{bulk.text}</p>}
      {rows.length === 0 && <p data-testid="journal-empty">{t("executions.empty")}</p>}
      <ul class="journal-rows" data-testid="journal-rows">
        {rows.map((r) => (
          <li key={r.ref} class={`exec-row exec-${r.outcome}`} data-ref={r.ref} data-area={r.area}>
            <details>
              <summary>
                <span class="exec-time">{tr.dateTime(r.at, timeZone)}</span>
                <span class="exec-area">{t(AREA[r.area])}</span>
                <span class="exec-title">{r.title}</span>
                <span class="exec-status" data-testid="exec-status">
                  {t(STATUS[r.status] ?? "executions.status.failed")}
                </span>
                {r.reason && <span class="exec-reason">{r.reason}</span>}
              </summary>
              <dl class="exec-fields">
                {r.fields.map((f, i) => (
                  <div key={i}>
                    <dt>{label(f)}</dt>
                    <dd>
                      {f.key.endsWith("url") && /^https?:/.test(f.value) ? <a href={f.value}>{f.value}</a> : value(f)}
                    </dd>
                  </div>
                ))}
              </dl>
            </details>
            <div class="exec-actions">
              {canRetry && r.retry && (
                <button
                  type="button"
                  class="outline"
                  data-testid="retry"
                  aria-busy={busy === r.ref}
                  onClick={() => retryOne(r)}
                >
                  {t(r.retry === "redrive" ? "executions.retry.redrive" : "executions.retry.run_again")}
                </button>
              )}
              {r.area === "onec" && r.outcome === "failed" && <small>{t("executions.retry.onec")}</small>}
              {notes[r.ref] && (
                <small role="status" data-testid="retry-note" class={notes[r.ref].ok ? "ok" : "error"}>
                  {notes[r.ref].text}
                </small>
              )}
            </div>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" class="secondary outline" data-testid="more" aria-busy={busy === "more"} onClick={more}>
          {rows.length
            ? t("executions.more")
            : t("executions.scanned", { when: tr.dateTime(idTimeIso(cursor), timeZone) })}
        </button>
      )}
    </div>
  );
}

/** The time a ULID cursor was made (Crockford base32 time part). */
function idTimeIso(id: string): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let ms = 0;
  for (const ch of id.slice(0, 10)) ms = ms * 32 + alphabet.indexOf(ch);
  return new Date(ms).toISOString();
}
