/** The outcome, HTTP status and duration cells of a scheduler run row: shared by the live table and the history page. */
import type { IslandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

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

export interface RunCellsProps {
  run: { id: string; outcome: string; reason?: string; httpStatus?: number; durationMs?: number };
  tr: IslandTranslator;
}

export function RunCells({ run: r, tr: { t } }: RunCellsProps) {
  return (
    <>
      <td title={r.reason} data-label={t("scheduler.col.outcome")}>
        <a href={`/admin/scheduler/runs/${r.id}`} data-outcome={r.outcome}>
          {OUTCOME_MARK[r.outcome] ?? ""} {OUTCOME_LABEL[r.outcome] ? t(OUTCOME_LABEL[r.outcome]) : r.outcome}
        </a>
        {r.reason && (
          <>
            <br />
            <small>{r.reason.slice(0, 160)}</small>
          </>
        )}
      </td>
      <td data-label={t("scheduler.col.http")}>{r.httpStatus ?? ""}</td>
      <td data-label={t("scheduler.col.duration")}>
        {r.durationMs !== undefined ? t("scheduler.ms", { ms: r.durationMs }) : ""}
      </td>
    </>
  );
}
