/**
 * The live SLA dashboard: counters, the overdue table with the time each
 * department had a ticket, the suspended list, departments ranked by their
 * share of overdue time, reasons, and the connectors with their status. Any
 * `sla.*` or `connector.*` event on the stream reloads the data from
 * `/api/v1/sla/dashboard` and `/api/v1/connectors`, so the page follows polls
 * and connectors coming and going without a reload. The trend and ranking
 * charts are a bundle of their own (sla_charts.lazy.tsx), fetched once the
 * page is up and given the same data on every update.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import type { SlaDashboard } from "../lib/sla/service.ts";
import type { PollState } from "../lib/connector/dispatch.ts";
import type { PublicConnector } from "../lib/connector/registry.ts";
import SlaConnectors from "./_sla_connectors.tsx";
import { durationText, type SlaI18n, slaTranslator } from "./_sla_text.ts";
import type { SlaChartsProps } from "./sla_charts.lazy.tsx";

type ChartsModule = typeof import("./sla_charts.lazy.tsx");
// A URL, not a path: the bundler leaves this import() alone and the browser fetches the charts' own bundle.
const CHARTS_BUNDLE = "/static/islands/sla_charts.lazy.js";

export type DashboardData = SlaDashboard & { poll: PollState };

export interface SlaDashboardProps {
  dashboard: DashboardData;
  connectors: PublicConnector[];
  i18n: SlaI18n;
  canOperate: boolean;
  canAdmin: boolean;
}

const POLL = {
  idle: "connectors.poll.idle",
  ok: "connectors.poll.ok",
  no_connector: "connectors.poll.no_connector",
  failing: "connectors.poll.failing",
} as const;

/** The charts' place: empty on the server, filled by the lazily loaded bundle and updated with each reload. */
function ChartsSlot(props: SlaChartsProps) {
  const box = useRef<HTMLDivElement>(null);
  const mod = useRef<ChartsModule | null>(null);
  useEffect(() => {
    if (mod.current) return mod.current.renderSlaCharts(box.current!, props);
    let alive = true;
    (import(CHARTS_BUNDLE) as Promise<ChartsModule>).then((m) => {
      mod.current = m;
      if (alive && box.current) m.renderSlaCharts(box.current, props);
    }).catch(() => {/* the tables above still tell the numbers */});
    return () => {
      alive = false;
    };
  }, [props.trends, props.departments]);
  useEffect(() => () => {
    if (box.current) mod.current?.clearSlaCharts(box.current);
  }, []);
  return <div ref={box} data-testid="sla-charts" />;
}

export default function SlaDashboardIsland(props: SlaDashboardProps) {
  const [d, setD] = useState<DashboardData>(props.dashboard);
  const [connectors, setConnectors] = useState<PublicConnector[]>(props.connectors);
  const [live, setLive] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const tr = slaTranslator(props.i18n);
  const { t } = tr;
  const dur = (ms: number | null) => (ms === null ? "—" : durationText(ms, tr));

  async function reload() {
    const [a, b] = await Promise.all([
      api<DashboardData>("/api/v1/sla/dashboard"),
      api<{ items: PublicConnector[] }>("/api/v1/connectors"),
    ]);
    if (a.ok) setD(a.data);
    if (b.ok) setConnectors(b.data.items);
  }

  useEffect(() =>
    liveEvents(["sla.*", "connector.*"], () => {
      // Several events arrive per poll: one reload after they settle.
      clearTimeout(timer.current);
      timer.current = setTimeout(reload, 250);
    }, setLive), []);

  async function pollNow() {
    const res = await api("/api/v1/sla/poll", { method: "POST" });
    setNote(res.ok ? t("connectors.poll.queued") : res.error ?? null);
  }

  const online = connectors.filter((c) => c.status.state === "online" && !c.revokedAt).length;
  const updated = d.updatedAt.arrears ?? d.updatedAt.stopped;
  const maxShare = Math.max(0.0001, ...d.departments.map((x) => x.share));

  return (
    <div data-testid="sla-dashboard">
      <p>
        <small data-testid="live-state">{live ? "●" : "○"}</small>{" "}
        <small data-testid="sla-updated">
          {t("connectors.updated", { name: updated ? tr.dateTime(updated) : t("connectors.neverPolled") })}
        </small>{" "}
        <small data-testid="poll-state" data-state={d.poll.state}>
          {t(POLL[d.poll.state])}
          {d.poll.state !== "ok" && d.poll.lastError ? ` (${d.poll.lastError})` : ""}
        </small>
      </p>
      <div class="kpis" data-testid="sla-kpis">
        <article>
          <strong data-testid="kpi-overdue">{d.counters.overdue}</strong> {t("connectors.kpi.overdue")}
        </article>
        <article>
          <strong data-testid="kpi-suspended">{d.counters.suspended}</strong> {t("connectors.kpi.suspended")}
        </article>
        <article>
          <strong>{dur(d.counters.overdueMsTotal)}</strong> {t("connectors.kpi.overdueTotal")}
        </article>
        <article>
          <strong>{dur(d.counters.overdueMsMax)}</strong> {t("connectors.kpi.overdueMax")}
        </article>
        <article>
          <strong data-testid="kpi-online">{online}</strong> {t("connectors.kpi.online")}
        </article>
      </div>
      {props.canOperate && (
        <p>
          <button type="button" class="secondary" onClick={pollNow} data-testid="poll-now">
            {t("connectors.poll.now")}
          </button>{" "}
          {note && <small data-testid="poll-note">{note}</small>}
        </p>
      )}

      <ChartsSlot
        trends={d.trends}
        departments={d.departments}
        now={d.now}
        timeZone={props.i18n.timeZone}
        text={{
          trendTitle: t("connectors.charts.trend"),
          overdue: t("connectors.kpi.overdue"),
          suspended: t("connectors.kpi.suspended"),
          overdueHours: t("connectors.charts.overdueHours"),
          rankingTitle: t("connectors.charts.ranking"),
          rankingHours: t("connectors.charts.overdueHours"),
        }}
      />

      <h2>{t("connectors.reasons.title")}</h2>
      {d.reasons.length === 0 ? <p>{t("connectors.overdue.empty")}</p> : (
        <ul data-testid="sla-reasons">
          {d.reasons.map((r) => (
            <li key={r.reason ?? ""}>
              <strong>{r.reason ?? t("connectors.reasons.none")}</strong>:{" "}
              {t("connectors.departments.tickets", { count: r.tickets })} · {dur(r.overdueMs)}
            </li>
          ))}
        </ul>
      )}

      <h2>{t("connectors.departments.title")}</h2>
      {d.departments.length === 0 ? <p>{t("connectors.departments.empty")}</p> : (
        <div data-testid="sla-departments">
          {d.departments.map((x) => (
            <div key={x.department}>
              <div>
                <strong>{x.department}</strong> — {Math.round(x.share * 100)}% · {dur(x.overdueMs)} ·{" "}
                {t("connectors.departments.tickets", { count: x.tickets })}
              </div>
              <progress value={x.share / maxShare} max={1} aria-label={x.department} />
            </div>
          ))}
        </div>
      )}

      <h2>{t("connectors.overdue.title")}</h2>
      {d.overdue.length === 0
        ? <p data-testid="overdue-empty">{t("connectors.overdue.empty")}</p>
        : (
          <div class="overflow-auto">
            <table class="striped" data-testid="sla-overdue">
              <thead>
                <tr>
                  <th>{t("connectors.col.ticket")}</th>
                  <th>{t("connectors.col.subject")}</th>
                  <th>{t("connectors.col.overdue")}</th>
                  <th>{t("connectors.col.department")}</th>
                  <th>{t("connectors.col.history")}</th>
                  <th>{t("connectors.col.assignee")}</th>
                  <th>{t("connectors.col.reason")}</th>
                </tr>
              </thead>
              <tbody>
                {d.overdue.map((r) => (
                  <tr key={r.id} data-ticket={r.id}>
                    <td>{r.id}</td>
                    <td>{r.title}</td>
                    <td>{dur(r.overdueMs)}</td>
                    <td>{r.department ?? "—"}</td>
                    <td>
                      <small>{r.departments.map((x) => `${x.department}: ${dur(x.ms)}`).join("; ")}</small>
                    </td>
                    <td>{r.assignee ?? "—"}</td>
                    <td>{r.reason ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}

      <h2>{t("connectors.suspended.title")}</h2>
      {d.suspended.length === 0 ? <p>{t("connectors.suspended.empty")}</p> : (
        <div class="overflow-auto">
          <table class="striped" data-testid="sla-suspended">
            <thead>
              <tr>
                <th>{t("connectors.col.ticket")}</th>
                <th>{t("connectors.col.subject")}</th>
                <th>{t("connectors.col.suspendedFor")}</th>
                <th>{t("connectors.col.department")}</th>
                <th>{t("connectors.col.reason")}</th>
              </tr>
            </thead>
            <tbody>
              {d.suspended.map((r) => (
                <tr key={r.id} data-ticket={r.id}>
                  <td>{r.id}</td>
                  <td>{r.title}</td>
                  <td>{dur(r.suspendedMs)}</td>
                  <td>{r.department ?? "—"}</td>
                  <td>{r.reason ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <SlaConnectors connectors={connectors} i18n={props.i18n} canAdmin={props.canAdmin} onChange={reload} />
    </div>
  );
}
