/**
 * Enrichment live panel: a form that submits one task (synchronously, or
 * queued) and a table of results and failures that grows as `task.done` /
 * `task.failed` events arrive on the SSE stream.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type LiveEvent, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

const TYPE_LABEL: Record<string, MessageKey> = {
  phone: "enrichment.type.phone",
  email: "enrichment.type.email",
  gpt: "enrichment.type.gpt",
};

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
  canSubmit: boolean;
  i18n: IslandI18n;
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

export default function EnrichmentLive({ initial, canSubmit, i18n }: EnrichmentLiveProps) {
  const { t, dateTime } = islandTranslator(i18n);
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
    const answerHead = t("enrichment.form.answer", { status: res.status });
    setAnswer(`${answerHead}: ${res.ok ? JSON.stringify(res.data) : res.error}`);
  }

  return (
    <div>
      {canSubmit && (
        <form onSubmit={submit} data-testid="task-form">
          <div class="grid task-form">
            <label>
              {t("enrichment.form.taskId")}
              <input name="task_id" type="number" step="1" required />
            </label>
            <label>
              {t("enrichment.form.type")}
              <select name="task_type">
                {["phone", "email", "gpt"].map((x) => <option key={x} value={x}>{t(TYPE_LABEL[x])}</option>)}
              </select>
            </label>
          </div>
          <label>
            {t("enrichment.form.data")}
            <input name="data" required placeholder={t("enrichment.form.dataPlaceholder")} />
          </label>
          <label>
            <input type="checkbox" name="async" /> {t("enrichment.form.queue")}
          </label>
          <button type="submit" aria-busy={busy}>{t("enrichment.form.send")}</button>
          {answer && (
            <p data-testid="task-answer">
              <code>{answer}</code>
            </p>
          )}
        </form>
      )}
      <p>
        <small data-testid="live-state" data-state={live ? "live" : "connecting"}>
          {live ? t("common.live") : t("common.connecting")}
        </small>
      </p>
      <table class="striped cards" data-testid="live-results">
        <thead>
          <tr>
            <th>{t("enrichment.col.time")}</th>
            <th>{t("enrichment.col.taskId")}</th>
            <th>{t("enrichment.col.type")}</th>
            <th>{t("enrichment.col.result")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-task-id={r.task_id ?? undefined}>
              <td data-label={t("enrichment.col.time")}>{dateTime(r.at)}</td>
              <td data-label={t("enrichment.col.taskId")}>{r.task_id ?? "—"}</td>
              <td data-label={t("enrichment.col.type")} data-type={r.task_type}>
                {r.task_type ? (TYPE_LABEL[r.task_type] ? t(TYPE_LABEL[r.task_type]) : r.task_type) : ""}
              </td>
              <td data-label={t("enrichment.col.result")}>
                {r.error ? <span class="error">{r.error}</span> : <a href={`/admin/enrichment/rows/${r.id}`}>{r.id}</a>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
