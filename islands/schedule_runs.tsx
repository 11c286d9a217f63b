/**
 * A schedule's run history on its page, live like the Scheduler page's runs:
 * a `schedule.run` / `schedule.failed` event of this schedule puts its run at
 * the top (or replaces the row of the same run). An older page of the history
 * (`follow: false`) stays as it was asked for.
 */
import { useEffect, useState } from "preact/hooks";
import { liveEvents } from "./_lib.ts";
import { RunCells, TRIGGER_LABEL } from "./_run_cells.tsx";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";

/** A run as the history lists it (the fields of a `schedule.run` event, `runId` as `id`). */
export interface HistoryRun {
  id: string;
  trigger: string;
  outcome: string;
  plannedAt: string;
  timezone: string;
  httpStatus?: number;
  durationMs?: number;
  reason?: string;
}

export interface ScheduleRunsProps {
  scheduleId: string;
  runs: HistoryRun[];
  /** Whether new runs join the table (only the newest page does). */
  follow: boolean;
  /** How many rows the page shows. */
  limit: number;
  i18n: IslandI18n;
}

export default function ScheduleRuns({ scheduleId, runs: initial, follow, limit, i18n }: ScheduleRunsProps) {
  const tr = islandTranslator(i18n);
  const { t } = tr;
  const [runs, setRuns] = useState(initial);
  const [open, setOpen] = useState(false);

  useEffect(() => {
    if (!follow) return;
    return liveEvents(["schedule.run", "schedule.failed"], (e) => {
      if (e.data.scheduleId !== scheduleId) return;
      const run = { ...(e.data as unknown as HistoryRun), id: String(e.data.runId) };
      setRuns((list) => [run, ...list.filter((r) => r.id !== run.id)].slice(0, limit));
    }, setOpen);
  }, [scheduleId, follow, limit]);

  return (
    <div>
      {follow && (
        <small data-testid="stream-state" data-state={open ? "live" : "connecting"}>
          {open ? t("common.live") : t("common.connecting")}
        </small>
      )}
      <table class="striped cards" data-testid="history-table">
        <thead>
          <tr>
            <th>{t("scheduler.col.planned")}</th>
            <th>{t("scheduler.col.trigger")}</th>
            <th>{t("scheduler.col.outcome")}</th>
            <th>{t("scheduler.col.http")}</th>
            <th>{t("scheduler.col.duration")}</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run-id={r.id}>
              <td data-label={t("scheduler.col.planned")}>
                <small>{tr.dateTime(r.plannedAt, r.timezone)}</small>
              </td>
              <td data-label={t("scheduler.col.trigger")}>
                {TRIGGER_LABEL[r.trigger] ? t(TRIGGER_LABEL[r.trigger]) : r.trigger}
              </td>
              <RunCells run={r} tr={tr} />
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && <p>{t("scheduler.runs.pageEmpty")}</p>}
    </div>
  );
}
