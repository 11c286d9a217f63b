/**
 * The Enrichment page's counters (`part: "stats"`) and its newest rows
 * (`part: "rows"`), kept live like the results table beside them: a
 * `task.done` or `task.failed` event makes each read the status or the first
 * page of rows again (at most twice a second, and once more after a
 * reconnect), so every widget on the page moves together. An older page of
 * rows (`follow: false`) stays as it was asked for.
 */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import { KeyValues } from "./_kv.tsx";
import { CardTable } from "./_card_table.tsx";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

export type TypeStats = Record<string, { done: number; failed: number }>;

/** A stored row as `GET /api/v1/rows` answers it. */
export interface BoardRow {
  id: number;
  task_id: number;
  task_type: string;
  source: string;
  data: unknown;
  created_at: string;
}

export interface EnrichmentBoardProps {
  part: "stats" | "rows";
  /** Every task type, in the order the counters show them. */
  types: readonly string[];
  stats?: TypeStats;
  rows?: BoardRow[];
  /** The rows filter: only rows of this task type. */
  type?: string;
  /** Whether the rows follow new tasks (only the newest page does). */
  follow?: boolean;
  i18n: IslandI18n;
}

const TYPE_LABEL: Record<string, MessageKey> = {
  phone: "enrichment.type.phone",
  email: "enrichment.type.email",
  gpt: "enrichment.type.gpt",
};
const REFRESH_MS = 500;

export default function EnrichmentBoard(
  { part, types, stats: initialStats = {}, rows: initialRows = [], type, follow = true, i18n }: EnrichmentBoardProps,
) {
  const { t, dateTime } = islandTranslator(i18n);
  const [stats, setStats] = useState(initialStats);
  const [rows, setRows] = useState(initialRows);

  useEffect(() => {
    if (part === "rows" && !follow) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = async () => {
      timer = undefined;
      if (part === "stats") {
        const res = await api<{ stats: TypeStats }>("/api/v1/enrichment/status");
        if (res.ok) setStats(res.data.stats);
      } else {
        const res = await api<{ items: BoardRow[] }>(`/api/v1/rows?limit=25${type ? `&type=${type}` : ""}`);
        if (res.ok) setRows(res.data.items);
      }
    };
    // Thousands of tasks an hour arrive as events: one read per burst, not one per event.
    const soon = () => timer ??= setTimeout(() => void refresh(), REFRESH_MS);
    let wasOpen: boolean | undefined;
    const stop = liveEvents(["task.done", "task.failed"], soon, (open) => {
      if (open && wasOpen === false) soon(); // reconnected: catch up on what the gap held
      wasOpen = open;
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [part, type, follow]);

  const typeName = (x: string) => TYPE_LABEL[x] ? t(TYPE_LABEL[x]) : x;
  if (part === "stats") {
    return (
      <div class="kpis" data-testid="enrichment-stats">
        {types.map((x) => {
          const s = stats[x] ?? { done: 0, failed: 0 };
          const total = s.done + s.failed;
          return (
            <article key={x} data-type={x} data-done={s.done} data-failed={s.failed}>
              <strong>{typeName(x)}</strong>
              {t("enrichment.kpi.done", { count: s.done })}
              <br />
              <small>{t("enrichment.kpi.failed", { count: s.failed, rate: total ? s.failed / total : 0 })}</small>
            </article>
          );
        })}
      </div>
    );
  }
  return (
    <>
      <CardTable
        testId="rows"
        rows={rows}
        rowKey={(r) => r.id}
        rowProps={(r) => ({ "data-row-id": r.id })}
        columns={[
          {
            label: t("enrichment.rows.col.id"),
            cell: (r) => <a href={`/admin/enrichment/rows/${r.id}`}>{r.id}</a>,
          },
          { label: t("enrichment.col.taskId"), cell: (r) => r.task_id },
          { label: t("enrichment.col.type"), cell: (r) => typeName(r.task_type) },
          { label: t("enrichment.rows.col.source"), cell: (r) => r.source.slice(0, 80) },
          {
            label: t("enrichment.rows.col.data"),
            cell: (r) =>
              typeof r.data === "string"
                ? <small>{r.data.slice(0, 200)}</small>
                : <KeyValues data={r.data} limit={6} />,
          },
          { label: t("enrichment.rows.col.created"), class: "nowrap-cell", cell: (r) => dateTime(r.created_at) },
        ]}
      />
      {rows.length === 0 && <p>{t("enrichment.rows.empty")}</p>}
    </>
  );
}
