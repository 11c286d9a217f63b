/**
 * The Scheduler page's live part: schedules with their next run time (in
 * their zone), and for admins "Run now", enable/disable, edit and delete;
 * runs arriving over SSE (`schedule.run`, `schedule.failed`) without a reload.
 */
import { useEffect, useState } from "preact/hooks";
import { api, formatTime, liveEvents } from "./_lib.ts";
import { RunCells } from "./_run_cells.tsx";

export interface ScheduleRow {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  action: string;
  nextRunLocal: string | null;
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
}

// Small buttons that wrap inside the cell on a phone instead of widening the table.
const ACTIONS_STYLE = "display:flex;flex-wrap:wrap;gap:0.25rem;--pico-form-element-spacing-vertical:0.25rem;" +
  "--pico-form-element-spacing-horizontal:0.5rem;min-width:9rem";

export default function SchedulerLive(
  { schedules: initialSchedules, runs: initialRuns, canWrite }: SchedulerLiveProps,
) {
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
    setMessage(res.ok ? `Run ${res.data.id} queued` : `Cannot run: ${res.error}`);
  }

  async function toggle(s: ScheduleRow) {
    const res = await api<ApiSchedule>(`/api/v1/schedules/${s.id}`, {
      method: "PATCH",
      body: { enabled: !s.enabled },
    });
    if (!res.ok) return setMessage(`Cannot ${s.enabled ? "disable" : "enable"}: ${res.error}`);
    const row = toRow(res.data);
    setSchedules((list) => list.map((x) => (x.id === row.id ? row : x)));
    setMessage(`${row.name} ${row.enabled ? "enabled" : "disabled"}`);
  }

  async function remove(s: ScheduleRow) {
    if (!confirm(`Delete the schedule "${s.name}"? Its run history stays until it expires.`)) return;
    const res = await api(`/api/v1/schedules/${s.id}`, { method: "DELETE" });
    if (!res.ok) return setMessage(`Cannot delete: ${res.error}`);
    setSchedules((list) => list.filter((x) => x.id !== s.id));
    setMessage(`${s.name} deleted`);
  }

  return (
    <div>
      <div class="overflow-auto">
        <table class="striped" data-testid="schedules-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Cron</th>
              <th>Next run</th>
              <th>Action</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.id} data-schedule-id={s.id}>
                <td>
                  <a href={`/admin/scheduler/${s.id}`}>{s.name}</a> {!s.enabled && <mark>disabled</mark>}
                </td>
                <td>
                  <code>{s.cron}</code>
                  <br />
                  <small>{s.timezone}</small>
                </td>
                <td>
                  <small data-testid="next-run">{s.nextRunLocal ?? "—"}</small>
                </td>
                <td>
                  <small>
                    <code>{s.action}</code>
                  </small>
                </td>
                <td>
                  {canWrite && (
                    <div style={ACTIONS_STYLE}>
                      <button type="button" class="secondary outline" onClick={() => runNow(s.id)}>Run now</button>
                      <button type="button" class="secondary outline" onClick={() => toggle(s)}>
                        {s.enabled ? "Disable" : "Enable"}
                      </button>
                      <a href={`/admin/scheduler/${s.id}#edit`} role="button" class="secondary outline">Edit</a>
                      <button type="button" class="secondary outline" onClick={() => remove(s)}>Delete</button>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {schedules.length === 0 && <p>No schedules yet.</p>}
      </div>
      {message && <p role="status">{message}</p>}
      <h2>
        Runs{" "}
        <small data-testid="stream-state" data-state={live ? "live" : "connecting"}>
          {live ? "● live" : "○ connecting…"}
        </small>
      </h2>
      <div class="overflow-auto">
        <table class="striped" data-testid="runs-table">
          <thead>
            <tr>
              <th>Planned</th>
              <th>Schedule</th>
              <th>Outcome</th>
              <th>HTTP</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-run-id={r.id}>
                <td>
                  <small>{formatTime(r.plannedAt, r.timezone)}</small>
                </td>
                <td>
                  {r.scheduleName} {r.trigger !== "schedule" && <small>({r.trigger})</small>}
                </td>
                <RunCells run={r} />
              </tr>
            ))}
          </tbody>
        </table>
        {runs.length === 0 && <p>No runs yet. They appear here as they happen.</p>}
      </div>
    </div>
  );
}

/** A schedule as the API answers it, as far as the table needs. */
export type ApiSchedule = Omit<ScheduleRow, "action"> & { action: Parameters<typeof describe>[0] };

/** The table row of a schedule from the API's answer. */
export function toRow(s: ApiSchedule): ScheduleRow {
  return {
    id: s.id,
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    enabled: s.enabled,
    action: describe(s.action),
    nextRunLocal: s.nextRunLocal,
  };
}

/** One line for an action: "POST https://…" or "job mail.poll". */
export function describe(action: { type: string; method?: string; url?: string; job?: string }): string {
  return action.type === "http" ? `${action.method} ${action.url}` : `job ${action.job}`;
}
