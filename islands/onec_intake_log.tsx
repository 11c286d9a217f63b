/** The 1C intake log: one row per task of each request, newest first; refetched when a request is logged. */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

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
  /** The 1C settings' zone (the organization's). */
  zone: string;
  i18n: IslandI18n;
  limit?: number;
}

const OP: Record<string, MessageKey> = {
  created: "onec.op.created",
  updated: "onec.op.updated",
  failed: "onec.op.failed",
  update_failed: "onec.op.update_failed",
  rejected: "onec.op.rejected",
};

export default function OnecIntakeLog({ initial, zone, i18n, limit = 50 }: OnecIntakeLogProps) {
  const { t, dateTime } = islandTranslator(i18n);
  const [entries, setEntries] = useState<IntakeLogEntry[]>(initial);
  const [ready, setReady] = useState(false);

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
    <div data-ready={ready ? "" : undefined}>
      <table class="striped cards onec-log" data-testid="onec-log">
        <thead>
          <tr>
            <th>{t("onec.log.col.time")}</th>
            <th>{t("onec.log.col.task")}</th>
            <th>{t("onec.log.col.responsible")}</th>
            <th>{t("onec.log.col.bitrix")}</th>
            <th>{t("onec.log.col.outcome")}</th>
          </tr>
        </thead>
        <tbody>
          {entries.flatMap((e) =>
            e.tasks.map((tk, i) => (
              <tr key={`${e.id}-${i}`} data-onec-id={tk.onecId} data-op={tk.op}>
                <td data-label={t("onec.log.col.time")}>
                  <small>{dateTime(e.at, zone)}</small>
                  <br />
                  <small title={t("onec.log.request", { id: e.requestId })}>
                    {t("onec.log.calls", { count: e.bitrixCalls, ms: Math.round(e.durationMs) })}
                  </small>
                </td>
                <td data-label={t("onec.log.col.task")}>
                  {tk.onecId && <code>{tk.onecId}</code>}
                  <br />
                  {tk.title}
                  {tk.calculation && (
                    <>
                      <br />
                      <small>{t("onec.log.calculation", { value: tk.calculation })}</small>
                    </>
                  )}
                </td>
                <td data-label={t("onec.log.col.responsible")}>
                  {tk.responsible ? <strong>{tk.responsible.name || `#${tk.responsible.id}`}</strong> : "—"}
                  {tk.unassigned && <mark>{t("onec.log.fallback")}</mark>}
                  <br />
                  <small>{tk.reason ?? ""}</small>
                </td>
                <td data-label={t("onec.log.col.bitrix")}>
                  {tk.url ? <a href={tk.url} target="_blank" rel="noopener">#{tk.taskId}</a> : "—"}
                </td>
                <td data-label={t("onec.log.col.outcome")}>
                  {OP[tk.op] ? t(OP[tk.op]) : tk.op}
                  {tk.error && (
                    <small class="error">
                      <br />
                      {tk.error}
                    </small>
                  )}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {entries.length === 0 && <p>{t("onec.log.empty")}</p>}
    </div>
  );
}
