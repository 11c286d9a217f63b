/**
 * The live Overview: health cards per area, charts of the last 24 h, overdue
 * messages and the first-run checklist. Any event on the stream makes it
 * fetch /api/v1/dashboard again (at most one fetch in flight, the next one
 * right after), so every number on the page moves together.
 */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import Chart from "./chart.tsx";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";
import type { AreaCard, Attention, ChecklistItem, DashboardData, Health } from "../lib/dashboard/types.ts";

export interface DashboardProps {
  initial: DashboardData;
  /** The `overview.` and `common.` messages, the language and the organization's zone. */
  i18n: IslandI18n;
}

const AREA: Record<string, MessageKey> = {
  scheduler: "overview.area.scheduler",
  enrichment: "overview.area.enrichment",
  onec: "overview.area.onec",
  dead: "overview.area.dead",
  notifications: "overview.area.notifications",
  connectors: "overview.area.connectors",
};
const COUNT: Record<string, MessageKey> = {
  scheduler: "overview.count.scheduler",
  enrichment: "overview.count.enrichment",
  onec: "overview.count.onec",
  dead: "overview.count.dead",
};
const HEALTH: Record<Health, MessageKey> = {
  ok: "overview.health.ok",
  warn: "overview.health.warn",
  fail: "overview.health.fail",
  idle: "overview.health.idle",
};
const ATTENTION: Record<string, MessageKey> = {
  schedule_failing: "overview.attention.schedule_failing",
  schedules_failing: "overview.attention.schedules_failing",
  schedules_overdue: "overview.attention.schedules_overdue",
  tasks_failed: "overview.attention.tasks_failed",
  tasks_overdue: "overview.attention.tasks_overdue",
  bitrix_missing: "overview.attention.bitrix_missing",
  onec_failed: "overview.attention.onec_failed",
  onec_fallbacks: "overview.attention.onec_fallbacks",
  dead_waiting: "overview.attention.dead_waiting",
};
const CHECK: Record<string, MessageKey> = {
  bitrix: "overview.checklist.bitrix",
  dadata: "overview.checklist.dadata",
  yandexgpt: "overview.checklist.yandexgpt",
  private_network: "overview.checklist.private_network",
  token: "overview.checklist.token",
};

export default function Dashboard({ initial, i18n }: DashboardProps) {
  const [data, setData] = useState<DashboardData>(initial);
  const [open, setOpen] = useState(false);
  const tr = islandTranslator(i18n);
  const { t } = tr;

  useEffect(() => {
    let busy = false;
    let again = false;
    const refresh = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          const res = await api<DashboardData>("/api/v1/dashboard");
          if (res.ok) setData(res.data);
        } while (again);
      } finally {
        busy = false;
      }
    };
    let wasOpen = false;
    return liveEvents([], () => void refresh(), (state) => {
      setOpen(state);
      if (state && wasOpen === false) void refresh(); // (re)connected: catch up on what we missed
      wasOpen = state;
    });
  }, []);

  const attention = (a: Attention) => {
    const key = ATTENTION[a.code];
    const text = key ? t(key, { count: a.count ?? 0, name: a.name ?? "" }) : a.code;
    return <li key={a.code}>{a.href ? <a href={a.href}>{text}</a> : text}</li>;
  };

  const card = (c: AreaCard) => (
    <article key={c.key} class={`health-card health-${c.health}`} data-testid={`card-${c.key}`}>
      <header>
        <a href={c.href}>
          <strong>{t(AREA[c.key] ?? "overview.title")}</strong>
        </a>
        {!c.planned && <span class="health-badge" data-testid={`card-${c.key}-health`}>{t(HEALTH[c.health])}</span>}
      </header>
      {c.planned
        ? (
          <p>
            <small>{t("overview.planned")}</small>
          </p>
        )
        : (
          <>
            <p class="health-numbers">
              <span data-testid={`card-${c.key}-total`}>
                {t(COUNT[c.key] ?? "overview.count.scheduler", { count: c.total24h })}
              </span>
              {" · "}
              <span data-testid={`card-${c.key}-failed`} class={c.failed24h ? "error" : undefined}>
                {t("overview.failed", { count: c.failed24h })}
              </span>
            </p>
            <p>
              <small>
                {c.last
                  ? t("overview.last", {
                    when: tr.dateTime(c.last.at, data.timeZone),
                    label: `${t(c.last.ok ? "overview.last.ok" : "overview.last.failed")} — ${c.last.label}`,
                  })
                  : t("overview.last.none")}
              </small>
            </p>
            {c.attention.length > 0 && <ul class="attention">{c.attention.map(attention)}</ul>}
          </>
        )}
    </article>
  );

  const check = (i: ChecklistItem) => (
    <li key={i.key} data-testid={`check-${i.key}`} data-done={i.done ? "yes" : "no"}>
      <span aria-hidden="true">{i.done ? "✔" : "○"}</span> {t(CHECK[i.key] ?? "overview.checklist")}
      {" — "}
      {i.done
        ? (
          <small>
            {t("overview.checklist.done")}
            {i.source &&
              `, ${
                t(
                  i.source === "organization"
                    ? "overview.checklist.source.organization"
                    : "overview.checklist.source.environment",
                )
              }`}
          </small>
        )
        : <a href={i.href}>{t("overview.checklist.todo")}</a>}
      {i.testHref && (
        <>
          {" · "}
          <a href={i.testHref}>{t("overview.checklist.test")}</a>
        </>
      )}
    </li>
  );

  const pending = data.checklist.filter((i) => !i.done).length;
  // Open and first while something is left to set up; folded at the bottom once all is done.
  const checklist = (
    <details open={pending > 0} data-testid="checklist" class="checklist-box">
      <summary>{t("overview.checklist")} ({data.checklist.length - pending}/{data.checklist.length})</summary>
      <ul class="checklist">{data.checklist.map(check)}</ul>
    </details>
  );
  return (
    <div class="dashboard">
      <p class="dashboard-status">
        <small data-testid="stream-state">{open ? t("common.live") : t("common.connecting")}</small>{" "}
        <small>{t("overview.updated", { when: tr.dateTime(data.generatedAt, data.timeZone) })}</small>{" "}
        <a href="/admin/executions">{t("overview.journal")}</a>
      </p>
      <div class="kpis">
        <article title={t("overview.overdue.hint")}>
          <strong data-testid="kpi-overdue">{tr.number(data.overdue.total)}</strong>
          {t("overview.overdue")}
        </article>
        {data.cards.filter((c) => c.key === "dead").map((c) => (
          <article key="dead-kpi">
            <strong data-testid="kpi-dead">
              {tr.number(c.attention.find((a) => a.code === "dead_waiting")?.count ?? 0)}
            </strong>
            {t("overview.area.dead")}
          </article>
        ))}
      </div>
      {pending > 0 && checklist}
      {data.truncated && (
        <p>
          <small>{t("overview.truncated")}</small>
        </p>
      )}
      <div class="health-cards">{data.cards.map(card)}</div>
      <h2>{t("overview.charts")}</h2>
      <div class="charts">
        {data.charts.map((c) => (
          <Chart
            key={c.key}
            testId={`chart-${c.key}`}
            title={t(c.title as MessageKey)}
            hours={data.hours}
            timeZone={data.timeZone}
            rightUnit={c.rightUnit}
            series={c.series.map((s) => ({ ...s, label: t(s.label as MessageKey) }))}
          />
        ))}
      </div>
      {pending === 0 && checklist}
    </div>
  );
}
