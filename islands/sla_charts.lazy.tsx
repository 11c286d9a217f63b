/**
 * The SLA dashboard's charts, a bundle of their own (static/islands/sla_charts.lazy.js):
 * the trend of overdue and suspended tickets over the last days, and the
 * departments ranked by overdue time. The SLA island `import()`s it once the
 * page is up and calls `renderSlaCharts` again with every live update, so the
 * island's own bundle carries no chart code and stays small.
 */
import { h, render } from "preact";
import Chart, { type ChartLine } from "./chart.tsx";
import type { TrendPoint } from "../lib/sla/store.ts";
import type { DepartmentShare } from "../lib/sla/analytics.ts";

export interface SlaChartsText {
  trendTitle: string;
  overdue: string;
  suspended: string;
  overdueHours: string;
  rankingTitle: string;
  rankingHours: string;
}

export interface SlaChartsProps {
  trends: TrendPoint[];
  departments: DepartmentShare[];
  /** ISO time the data was computed at: the trend runs up to its hour. */
  now: string;
  timeZone?: string;
  text: SlaChartsText;
}

const HOUR = 3600_000;
const hours1 = (ms: number) => Math.round((ms / HOUR) * 10) / 10;

/**
 * Every hour of at least the last 24 (more when the trend goes further back) up to `now`'s, the hours
 * without a poll left empty (a gap, not a zero): a young trend still reads as a day, like the overview.
 */
export function trendSeries(trends: TrendPoint[], now: number): { hours: number[]; points: Array<TrendPoint | null> } {
  const last = Math.floor(now / HOUR) * HOUR;
  const byHour = new Map(trends.map((p) => [Date.parse(p.hour), p]));
  const first = Math.min(last - 23 * HOUR, ...byHour.keys());
  const hours: number[] = [];
  for (let at = first; at <= last; at += HOUR) hours.push(at);
  return { hours, points: hours.map((at) => byHour.get(at) ?? null) };
}

function SlaCharts({ trends, departments, now, timeZone, text }: SlaChartsProps) {
  const { hours, points } = trendSeries(trends, Date.parse(now));
  const days = hours.length > 36;
  const trend: ChartLine[] = [
    { label: text.overdue, values: points.map((p) => p?.arrears ?? null), color: "#d93526", kind: "line" },
    { label: text.suspended, values: points.map((p) => p?.stopped ?? null), color: "#0172ad", kind: "line" },
    {
      label: text.overdueHours,
      values: points.map((p) => (p ? hours1(p.overdueMs) : null)),
      color: "#8c6d1f",
      kind: "line",
      right: true,
    },
  ];
  return (
    <div class="charts">
      <Chart
        testId="chart-sla-trend"
        title={text.trendTitle}
        hours={hours}
        series={trend}
        timeZone={timeZone}
        timeFormat={days ? "{DD}.{MM}" : "{HH}:{mm}"}
        rightUnit=""
      />
      {departments.length > 0 && (
        <Chart
          testId="chart-sla-ranking"
          title={text.rankingTitle}
          categories={departments.map((d) => d.department)}
          horizontal
          series={[{
            label: text.rankingHours,
            values: departments.map((d) => hours1(d.overdueMs)),
            color: "#d93526",
            kind: "bars",
          }]}
        />
      )}
    </div>
  );
}

/** Renders (or updates in place) the charts into `el`, an element the caller keeps empty. */
export function renderSlaCharts(el: Element, props: SlaChartsProps): void {
  render(h(SlaCharts, props), el);
}

/** Removes the charts from `el` (the island unmounting). */
export function clearSlaCharts(el: Element): void {
  render(null, el);
}
