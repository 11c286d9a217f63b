/**
 * A schedule's run history on its page, live like the Scheduler page's runs:
 * a `schedule.run` / `schedule.failed` event of this schedule puts its run at
 * the top (or replaces the row of the same run). An older page of the history
 * (`follow: false`) stays as it was asked for.
 */
import { useEffect, useState } from "preact/hooks";
import { liveEvents } from "./_lib.ts";
import { RunTable, TRIGGER_LABEL } from "./_run_table.tsx";
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
      <RunTable
        runs={runs}
        tr={tr}
        testId="history-table"
        empty="scheduler.runs.pageEmpty"
        column={{
          label: "scheduler.col.trigger",
          cell: (r) => TRIGGER_LABEL[r.trigger] ? t(TRIGGER_LABEL[r.trigger]) : r.trigger,
        }}
      />
    </div>
  );
}
