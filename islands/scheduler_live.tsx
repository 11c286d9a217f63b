/**
 * The Scheduler page's live part: schedules with their next run time (in
 * their zone), and for admins "Run now", enable/disable, edit and delete;
 * runs arriving over SSE (`schedule.run`, `schedule.failed`) without a reload.
 */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import { RunTable, TRIGGER_LABEL } from "./_run_table.tsx";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";

export interface ScheduleRow {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  /** "POST https://…" for an HTTP action; empty for a job. */
  action: string;
  /** The job kind of an internal action. */
  job?: string;
  nextRunAt: string | null;
}

export interface RunRow {
  id: string;
  scheduleId: string;
  scheduleName: string;
  trigger: string;
  outcome: string;
  plannedAt: string;
  startedAt?: string;
  durationMs?: number;
  httpStatus?: number;
  timezone: string;
  reason?: string;
}

export interface SchedulerLiveProps {
  schedules: ScheduleRow[];
  runs: RunRow[];
  canWrite: boolean;
  /** Cron expressions in words (from the server's describer), by expression. */
  cronWords: Record<string, string>;
  i18n: IslandI18n;
}

export default function SchedulerLive(
  { schedules: initialSchedules, runs: initialRuns, canWrite, cronWords, i18n }: SchedulerLiveProps,
) {
  const tr = islandTranslator(i18n);
  const { t, dateTime } = tr;
  const [schedules, setSchedules] = useState(initialSchedules);
  const [runs, setRuns] = useState(initialRuns);
  const [live, setLive] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    return liveEvents(["schedule.run", "schedule.failed"], (e) => {
      const run = { ...(e.data as unknown as RunRow), id: String(e.data.runId) };
      setRuns((list) => [run, ...list.filter((r) => r.id !== run.id)].slice(0, 100));
      // The next run time moved on: refresh the schedules.
      api<{ items: ApiSchedule[] }>("/api/v1/schedules").then((res) => {
        if (res.ok) setSchedules(res.data.items.map(toRow));
      });
    }, setLive);
  }, []);

  async function runNow(id: string) {
    const res = await api<{ id: string }>(`/api/v1/schedules/${id}/run`, { method: "POST", body: {} });
    setMessage(res.ok ? t("scheduler.queued") : t("scheduler.cannot", { reason: res.error ?? "" }));
  }

  async function toggle(s: ScheduleRow) {
    const res = await api<ApiSchedule>(`/api/v1/schedules/${s.id}`, {
      method: "PATCH",
      body: { enabled: !s.enabled },
    });
    if (!res.ok) return setMessage(t("scheduler.cannot", { reason: res.error ?? "" }));
    const row = toRow(res.data);
    setSchedules((list) => list.map((x) => (x.id === row.id ? row : x)));
    setMessage(t(row.enabled ? "scheduler.toggled.on" : "scheduler.toggled.off", { name: row.name }));
  }

  async function remove(s: ScheduleRow) {
    if (!confirm(t("scheduler.delete.confirm", { name: s.name }))) return;
    const res = await api(`/api/v1/schedules/${s.id}`, { method: "DELETE" });
    if (!res.ok) return setMessage(t("scheduler.cannot", { reason: res.error ?? "" }));
    setSchedules((list) => list.filter((x) => x.id !== s.id));
    setMessage(t("scheduler.deleted", { name: s.name }));
  }

  const zoneNote = (tz: string) => tz === i18n.timeZone ? null : <small class="nowrap">{tz}</small>;
  return (
    <div>
      <table class="striped cards" data-testid="schedules-table">
        <thead>
          <tr>
            <th>{t("scheduler.col.name")}</th>
            <th>{t("scheduler.col.when")}</th>
            <th>{t("scheduler.col.next")}</th>
            <th>{t("scheduler.col.action")}</th>
            {canWrite && <th>{t("scheduler.col.actions")}</th>}
          </tr>
        </thead>
        <tbody>
          {schedules.map((s) => (
            <tr key={s.id} data-schedule-id={s.id}>
              <td data-label={t("scheduler.col.name")}>
                <a href={`/admin/scheduler/${s.id}`}>{s.name}</a> {!s.enabled && <mark>{t("scheduler.disabled")}</mark>}
              </td>
              <td data-label={t("scheduler.col.when")}>
                {cronWords[s.cron] ?? <code>{s.cron}</code>}
                <br />
                <small>
                  {cronWords[s.cron] && <code>{s.cron}</code>} {zoneNote(s.timezone)}
                </small>
              </td>
              <td data-label={t("scheduler.col.next")}>
                <small data-testid="next-run">{s.nextRunAt ? dateTime(s.nextRunAt, s.timezone) : "—"}</small>
              </td>
              <td data-label={t("scheduler.col.action")}>
                <small>
                  <code>{s.job ? t("scheduler.job", { job: s.job }) : s.action}</code>
                </small>
              </td>
              {canWrite && (
                <td data-label={t("scheduler.col.actions")} class="actions">
                  <span>
                    <button type="button" class="secondary outline" onClick={() => runNow(s.id)}>
                      {t("scheduler.runNow")}
                    </button>
                    <button type="button" class="secondary outline" onClick={() => toggle(s)}>
                      {s.enabled ? t("scheduler.disable") : t("scheduler.enable")}
                    </button>
                    <a href={`/admin/scheduler/${s.id}#edit`} role="button" class="secondary outline">
                      {t("scheduler.edit")}
                    </a>
                    <button type="button" class="secondary outline" onClick={() => remove(s)}>
                      {t("scheduler.delete")}
                    </button>
                  </span>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {schedules.length === 0 && <p>{t("scheduler.empty")}</p>}
      {message && <p role="status">{message}</p>}
      <h2>
        {t("scheduler.runs")}{" "}
        <small data-testid="stream-state" data-state={live ? "live" : "connecting"}>
          {live ? t("common.live") : t("common.connecting")}
        </small>
      </h2>
      <RunTable
        runs={runs}
        tr={tr}
        testId="runs-table"
        empty="scheduler.runs.empty"
        column={{
          label: "scheduler.col.schedule",
          cell: (r) => (
            <>
              {r.scheduleName}{" "}
              {r.trigger !== "schedule" && (
                <small>({TRIGGER_LABEL[r.trigger] ? t(TRIGGER_LABEL[r.trigger]) : r.trigger})</small>
              )}
            </>
          ),
        }}
      />
    </div>
  );
}

/** A schedule as the API answers it, as far as the table needs. */
export type ApiSchedule = Omit<ScheduleRow, "action" | "job"> & { action: Parameters<typeof describe>[0] };

/** The table row of a schedule from the API's answer. */
export function toRow(s: ApiSchedule): ScheduleRow {
  return {
    id: s.id,
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    enabled: s.enabled,
    action: s.action.type === "http" ? describe(s.action) : "",
    job: s.action.type === "internal" ? s.action.job : undefined,
    nextRunAt: s.nextRunAt,
  };
}

/** One line for an action: "POST https://…" or "job mail.poll". */
export function describe(action: { type: string; method?: string; url?: string; job?: string }): string {
  return action.type === "http" ? `${action.method} ${action.url}` : `job ${action.job}`;
}
