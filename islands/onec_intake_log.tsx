/** The 1C intake log: one row per task of each request, newest first; refetched when a request is logged. */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";

export interface IntakeLogTask {
  onecId: string;
  title: string;
  calculation: string;
  op: string;
  taskId?: number;
  url?: string;
  responsible?: { id: number; name: string };
  reason?: string;
  unassigned?: boolean;
  error?: string;
}

export interface IntakeLogEntry {
  id: string;
  at: string;
  requestId: string;
  durationMs: number;
  bitrixCalls: number;
  tasks: IntakeLogTask[];
}

export interface OnecIntakeLogProps {
  initial: IntakeLogEntry[];
  timeZone: string;
  limit?: number;
}

const OUTCOME: Record<string, string> = {
  ok: "ok",
  update_failed: "ошибка обновления",
  failed: "ошибка",
  created: "создана",
  updated: "обновлена",
};

export default function OnecIntakeLog({ initial, timeZone, limit = 50 }: OnecIntakeLogProps) {
  const [entries, setEntries] = useState<IntakeLogEntry[]>(initial);
  const [ready, setReady] = useState(false);
  const when = (iso: string) => new Date(iso).toLocaleString("ru-RU", { timeZone, hour12: false });

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reload = async () => {
      const res = await api<{ items: IntakeLogEntry[] }>(`/api/v1/onec/log?limit=${limit}`);
      if (res.ok) setEntries(res.data.items);
    };
    // `onec.request.logged` is published after the entry is stored; a burst of requests costs one fetch.
    const stop = liveEvents(["onec.request.logged"], () => {
      clearTimeout(timer);
      timer = setTimeout(reload, 300);
    }, (open) => open && setReady(true));
    return () => {
      clearTimeout(timer);
      stop();
    };
  }, []);

  return (
    <div class="overflow-auto" data-ready={ready ? "" : undefined}>
      <table class="striped onec-log" data-testid="onec-log">
        <thead>
          <tr>
            <th>Time</th>
            <th>1C id · task</th>
            <th>Responsible · why</th>
            <th>Bitrix24</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {entries.flatMap((e) =>
            e.tasks.map((t, i) => (
              <tr key={`${e.id}-${i}`} data-onec-id={t.onecId}>
                <td>
                  <small>{when(e.at)}</small>
                  <br />
                  <small>
                    <code>{e.requestId}</code> · {e.bitrixCalls} calls · {Math.round(e.durationMs)} ms
                  </small>
                </td>
                <td>
                  <code>{t.onecId}</code>
                  <br />
                  {t.title}
                  <br />
                  <small>Калькуляция: {t.calculation}</small>
                </td>
                <td>
                  {t.responsible ? <strong>{t.responsible.name || `#${t.responsible.id}`}</strong> : "—"}
                  {t.unassigned && <mark>fallback</mark>}
                  <br />
                  <small>{t.reason ?? ""}</small>
                </td>
                <td>{t.url ? <a href={t.url} target="_blank" rel="noopener">#{t.taskId}</a> : "—"}</td>
                <td>
                  {OUTCOME[t.op] ?? t.op}
                  {t.error && (
                    <small class="error">
                      <br />
                      {t.error}
                    </small>
                  )}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {entries.length === 0 && <p>No 1C requests yet. They appear here as they arrive.</p>}
    </div>
  );
}
