/**
 * The Scheduler page's live part: schedules with their next run time (in
 * their zone) and "Run now", and runs arriving over SSE (`schedule.run`,
 * `schedule.failed`) without a reload.
 */
import { useEffect, useState } from "preact/hooks";
import { api, formatTime, liveEvents } from "./_lib.ts";

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

const OUTCOME_MARK: Record<string, string> = {
  ok: "✅",
  failed: "❌",
  timeout: "⏱",
  skipped: "⏭",
  missed: "⚠",
  queued: "…",
  running: "…",
};

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
      api<{ items: Array<ScheduleRow & { action: { type: string } }> }>("/api/v1/schedules").then((res) => {
        if (res.ok) setSchedules(res.data.items.map((s) => ({ ...s, action: describe(s.action) })));
      });
    }, setLive);
  }, []);

  async function runNow(id: string) {
    const res = await api<{ id: string }>(`/api/v1/schedules/${id}/run`, { method: "POST", body: {} });
    setMessage(res.ok ? `Run ${res.data.id} queued` : `Cannot run: ${res.error}`);
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
                  {s.name} {!s.enabled && <mark>disabled</mark>}
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
                    <button type="button" class="secondary outline" onClick={() => runNow(s.id)}>Run now</button>
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
        Runs <small data-testid="stream-state">{live ? "● live" : "○ connecting…"}</small>
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
                <td title={r.reason}>
                  <a href={`/api/v1/runs/${r.id}`}>
                    {OUTCOME_MARK[r.outcome] ?? ""} {r.outcome}
                  </a>
                  {r.reason && (
                    <>
                      <br />
                      <small>{r.reason.slice(0, 160)}</small>
                    </>
                  )}
                </td>
                <td>{r.httpStatus ?? ""}</td>
                <td>{r.durationMs !== undefined ? `${r.durationMs} ms` : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {runs.length === 0 && <p>No runs yet. They appear here as they happen.</p>}
      </div>
    </div>
  );
}

/** One line for an action: "POST https://…" or "job mail.poll". */
export function describe(action: { type: string; method?: string; url?: string; job?: string }): string {
  return action.type === "http" ? `${action.method} ${action.url}` : `job ${action.job}`;
}
