/**
 * Enrichment live panel: a form that submits one task (synchronously, or
 * queued) and a table of results and failures that grows as `task.done` /
 * `task.failed` events arrive on the SSE stream.
 */
import { useEffect, useState } from "preact/hooks";
import { api, formatTime, type LiveEvent, liveEvents } from "./_lib.ts";

export interface LiveRow {
  key: string;
  at: string;
  task_id: number | null;
  id?: number;
  task_type?: string;
  error?: string;
}

export interface EnrichmentLiveProps {
  initial: LiveRow[];
  timeZone?: string;
  canSubmit: boolean;
}

/** Turns a task.done / task.failed event into table rows. */
function rowsOf(e: LiveEvent): LiveRow[] {
  if (e.type === "task.failed") {
    const d = e.data as { task_id?: number | null; task_type?: string; reason?: string };
    return [{ key: e.id, at: e.at, task_id: d.task_id ?? null, task_type: d.task_type, error: d.reason }];
  }
  const results = (e.data.results ?? []) as Array<{ task_id: number; id: number; task_type: string }>;
  return results.map((r, i) => ({
    key: `${e.id}:${i}`,
    at: e.at,
    task_id: r.task_id,
    id: r.id,
    task_type: r.task_type,
  }));
}

export default function EnrichmentLive({ initial, timeZone, canSubmit }: EnrichmentLiveProps) {
  const [rows, setRows] = useState<LiveRow[]>(initial);
  const [live, setLive] = useState(false);
  const [answer, setAnswer] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(
    () =>
      liveEvents(["task.done", "task.failed"], (e) => setRows((old) => [...rowsOf(e), ...old].slice(0, 200)), setLive),
    [],
  );

  async function submit(ev: Event) {
    ev.preventDefault();
    const f = ev.currentTarget as HTMLFormElement;
    const get = (n: string) => (f.elements.namedItem(n) as HTMLInputElement).value;
    const queued = (f.elements.namedItem("async") as HTMLInputElement).checked;
    setBusy(true);
    const task = { task_id: Number(get("task_id")), task_type: get("task_type"), data: get("data") };
    // Queued tasks go through the batch endpoint (the page's fetch helper sends no Prefer header).
    const res = queued
      ? await api<Record<string, unknown>>("/api/v1/tasks/batch", { method: "POST", body: { tasks: [task] } })
      : await api<Record<string, unknown>>("/api/v1/tasks", { method: "POST", body: task });
    setBusy(false);
    setAnswer(res.ok ? `HTTP ${res.status}: ${JSON.stringify(res.data)}` : `HTTP ${res.status}: ${res.error}`);
  }

  return (
    <div>
      {canSubmit && (
        <form onSubmit={submit} data-testid="task-form">
          <fieldset role="group">
            <input name="task_id" type="number" step="1" required placeholder="task_id" aria-label="task_id" />
            <select name="task_type" aria-label="task_type">
              <option>phone</option>
              <option>email</option>
              <option>gpt</option>
            </select>
            <input name="data" required placeholder="data: +7 916 123-45-67, a@b.ru or a prompt" aria-label="data" />
            <button type="submit" aria-busy={busy}>Send</button>
          </fieldset>
          <label>
            <input type="checkbox" name="async" /> Queue it (the result arrives below)
          </label>
          {answer && (
            <p data-testid="task-answer">
              <code>{answer}</code>
            </p>
          )}
        </form>
      )}
      <p>
        <small data-testid="live-state" data-state={live ? "live" : "connecting"}>
          {live ? "● live" : "○ connecting…"}
        </small>
      </p>
      {/* Long error messages must not widen the page on a phone: the table scrolls in its own box. */}
      <div class="overflow-auto">
        <table class="striped" data-testid="live-results">
          <thead>
            <tr>
              <th>Time</th>
              <th>task_id</th>
              <th>Type</th>
              <th>Row id / error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} data-task-id={r.task_id ?? undefined}>
                <td>{formatTime(r.at, timeZone)}</td>
                <td>{r.task_id ?? "—"}</td>
                <td>{r.task_type ?? ""}</td>
                <td>
                  {r.error
                    ? <span class="error">{r.error}</span>
                    : <a href={`/admin/enrichment/rows/${r.id}`}>{r.id}</a>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
