/**
 * The table of scheduler runs: shared by the Scheduler page's live table and
 * a schedule's history, which differ only in their second column (the
 * schedule's name there, the trigger here). Pure Preact over CardTable.
 */
import type { ComponentChildren } from "preact";
import type { IslandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";
import { CardTable, type Column } from "./_card_table.tsx";

const OUTCOME_MARK: Record<string, string> = {
  ok: "✓",
  failed: "✗",
  timeout: "⧗",
  skipped: "↷",
  missed: "!",
  queued: "…",
  running: "…",
};

/** Run outcomes and triggers in words (literal keys, so the catalogue test sees them used). */
export const OUTCOME_LABEL: Record<string, MessageKey> = {
  ok: "scheduler.outcome.ok",
  failed: "scheduler.outcome.failed",
  timeout: "scheduler.outcome.timeout",
  skipped: "scheduler.outcome.skipped",
  missed: "scheduler.outcome.missed",
  queued: "scheduler.outcome.queued",
  running: "scheduler.outcome.running",
};
export const TRIGGER_LABEL: Record<string, MessageKey> = {
  schedule: "scheduler.trigger.schedule",
  manual: "scheduler.trigger.manual",
  catch_up: "scheduler.trigger.catchup",
};

/** What a row of the run table needs of a run. */
export interface TableRun {
  id: string;
  outcome: string;
  plannedAt: string;
  timezone: string;
  reason?: string;
  httpStatus?: number;
  durationMs?: number;
}

export interface RunTableProps<R extends TableRun> {
  runs: readonly R[];
  tr: IslandTranslator;
  testId: string;
  /** The column after the planned time: its header and what a run shows in it. */
  column: { label: MessageKey; cell: (run: R) => ComponentChildren };
  /** What stands under the table while it has no runs. */
  empty: MessageKey;
}

/**
 * Runs newest first: planned time, the page's own column, outcome (a link to
 * the run's page, the reason under it), HTTP status and duration.
 *
 * @example
 * ```tsx
 * <RunTable runs={runs} tr={tr} testId="history-table" empty="scheduler.runs.pageEmpty"
 *   column={{ label: "scheduler.col.trigger", cell: (r) => r.trigger }} />
 * ```
 */
export function RunTable<R extends TableRun>({ runs, tr, testId, column, empty }: RunTableProps<R>) {
  const { t } = tr;
  const columns: Column<R>[] = [
    { label: t("scheduler.col.planned"), cell: (r) => <small>{tr.dateTime(r.plannedAt, r.timezone)}</small> },
    { label: t(column.label), cell: column.cell },
    {
      label: t("scheduler.col.outcome"),
      title: (r) => r.reason,
      cell: (r) => (
        <>
          <a href={`/admin/scheduler/runs/${r.id}`} data-outcome={r.outcome}>
            {OUTCOME_MARK[r.outcome] ?? ""} {OUTCOME_LABEL[r.outcome] ? t(OUTCOME_LABEL[r.outcome]) : r.outcome}
          </a>
          {r.reason && (
            <>
              <br />
              <small>{r.reason.slice(0, 160)}</small>
            </>
          )}
        </>
      ),
    },
    { label: t("scheduler.col.http"), cell: (r) => r.httpStatus ?? "" },
    {
      label: t("scheduler.col.duration"),
      cell: (r) => r.durationMs !== undefined ? t("scheduler.ms", { ms: r.durationMs }) : "",
    },
  ];
  return (
    <>
      <CardTable
        testId={testId}
        rows={runs}
        rowKey={(r) => r.id}
        rowProps={(r) => ({ "data-run-id": r.id })}
        columns={columns}
      />
      {runs.length === 0 && <p>{t(empty)}</p>}
    </>
  );
}
