/**
 * A small chart (uPlot, served by the hub from /static/vendor/). Any page can
 * use it: `<Island name="chart" props={{ title, hours, series, timeZone }} />`
 * with labels already in the page's language. Bars and lines over hourly
 * buckets; an optional right axis (a rate or a duration). With `categories`
 * instead of `hours` it is a bar chart of named things (departments), lying
 * on its side when `horizontal` so long names stay readable at 390 px.
 * Re-renders with new `series` in place, so a live page just passes new props.
 */
import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";

export interface ChartLine {
  label: string;
  values: Array<number | null>;
  color: string;
  kind: "bars" | "line";
  right?: boolean;
}

export interface ChartProps {
  /** Shown above the chart; also the chart's accessible name. */
  title: string;
  /** Bucket starts (epoch ms), oldest first (a time chart). */
  hours?: number[];
  /** Names of the bars, one per value (a category chart; `hours` is then ignored). */
  categories?: string[];
  /** A category chart with the names down the left side and the bars running right. */
  horizontal?: boolean;
  /** uPlot date template of the time axis, e.g. `{DD}.{MM}` for several days (default `{HH}:{mm}`). */
  timeFormat?: string;
  series: ChartLine[];
  /** IANA zone the x axis is drawn in. */
  timeZone?: string;
  /** Unit of the right axis, e.g. `%`. */
  rightUnit?: string;
  height?: number;
  /** For tests and links: `chart-<key>`. */
  testId?: string;
}

type UPlotCtor = typeof uPlot;
let loading: Promise<UPlotCtor> | null = null;

/** Loads uPlot's script and stylesheet once per page. */
function loadUPlot(): Promise<UPlotCtor> {
  const w = globalThis as unknown as { uPlot?: UPlotCtor };
  if (w.uPlot) return Promise.resolve(w.uPlot);
  if (!document.querySelector('link[href="/static/vendor/uPlot.min.css"]')) {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = "/static/vendor/uPlot.min.css";
    document.head.appendChild(css);
  }
  loading ??= new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "/static/vendor/uPlot.iife.min.js";
    s.onload = () => (w.uPlot ? resolve(w.uPlot) : reject(new Error("uPlot did not load")));
    s.onerror = () => reject(new Error("uPlot did not load"));
    document.head.appendChild(s);
  });
  return loading;
}

function data(xs: number[], series: ChartLine[]): uPlot.AlignedData {
  return [xs, ...series.map((s) => s.values.map((v) => v ?? null))] as uPlot.AlignedData;
}

/** Sums of each series, for the text under the chart (and screen readers). */
function totals(series: ChartLine[]): string {
  return series.filter((s) => !s.right && s.kind === "bars").map((s) =>
    `${s.label}: ${Math.round(s.values.reduce<number>((a, v) => a + (v ?? 0), 0) * 100) / 100}`
  ).join(" · ");
}

/** A category label short enough for its axis. */
const shortLabel = (s: string) => (s.length > 18 ? `${s.slice(0, 17)}…` : s);

export default function Chart(
  {
    title,
    hours = [],
    categories,
    horizontal = false,
    timeFormat = "{HH}:{mm}",
    series,
    timeZone,
    rightUnit,
    height: baseHeight = 160,
    testId,
  }: ChartProps,
) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const byName = categories !== undefined;
  const xs = byName ? categories.map((_, i) => i) : hours.map((h) => h / 1000);
  // A lying category chart grows with its bars: each name keeps a readable row.
  const height = byName && horizontal ? Math.max(baseHeight, categories.length * 28 + 50) : baseHeight;
  // The plot is built again when anything but the values changes; the latest values are always at hand.
  const latest = useRef(data(xs, series));
  latest.current = data(xs, series);
  const shape = series.map((s) => `${s.label}|${s.kind}|${s.right ? 1 : 0}`).join(",") +
    (byName ? `#${horizontal ? "h" : "v"}#${categories.join("\u0000")}` : `#${timeFormat}`);

  useEffect(() => {
    let cancelled = false;
    let observer: ResizeObserver | undefined;
    loadUPlot().then((U) => {
      if (cancelled || !box.current) return;
      const bars = U.paths.bars?.({ size: [0.7, 40] });
      const thin = U.paths.bars?.({ size: [0.35, 20] });
      let barIndex = 0;
      const names = categories ?? [];
      const opts: uPlot.Options = {
        width: Math.max(200, box.current.clientWidth),
        height,
        tzDate: timeZone && !byName ? (ts) => U.tzDate(new Date(ts * 1000), timeZone) : undefined,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: byName
          ? {
            // One slot per name; lying down, the first name (the largest) on top.
            x: {
              time: false,
              range: () => [-0.5, Math.max(0.5, names.length - 0.5)],
              ...(horizontal ? { ori: 1, dir: -1 } as const : {}),
            },
            y: { range: (_u, _min, max) => [0, Math.max(1, max)], ...(horizontal ? { ori: 0, dir: 1 } as const : {}) },
          }
          : {
            // Half a bucket of room on each side, so the first and the current hour's bars are drawn whole.
            x: { time: true, range: (_u, min, max) => [min - 1800, max + 1800] },
            y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
          },
        axes: [
          byName
            ? {
              side: horizontal ? 3 : 2,
              size: horizontal ? 120 : 40,
              grid: { show: false },
              splits: () => names.map((_, i) => i),
              values: (_u: uPlot, v: number[]) => v.map((i) => shortLabel(names[i] ?? "")),
            }
            : { values: timeFormat, space: 50 },
          byName && horizontal ? { side: 2, size: 30 } : { size: 40 },
          ...(series.some((s) => s.right)
            ? [{
              scale: "r",
              side: 1,
              size: 52,
              grid: { show: false },
              values: (_u: uPlot, v: number[]) => v.map((x) => `${x}${rightUnit ?? ""}`),
            }]
            : []),
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: s.kind === "bars" ? `${s.color}bb` : undefined,
            width: s.kind === "bars" ? 0 : 2,
            scale: s.right ? "r" : "y",
            spanGaps: false,
            paths: s.kind === "bars" ? (barIndex++ === 0 ? bars : thin) : undefined,
            points: { show: s.kind === "line" },
          })),
        ],
      };
      if (series.some((s) => s.right)) opts.scales!.r = { range: [0, rightUnit === "%" ? 100 : null] as never };
      plot.current?.destroy();
      plot.current = new U(opts, latest.current, box.current);
      observer = new ResizeObserver(() => {
        if (box.current && plot.current) {
          plot.current.setSize({ width: Math.max(200, box.current.clientWidth), height });
        }
      });
      observer.observe(box.current);
    }).catch(() => {/* the text totals below still tell the numbers */});
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, timeZone, height, rightUnit]);

  useEffect(() => {
    plot.current?.setData(latest.current);
  }, [hours, categories, series]);

  return (
    <figure class="chart" data-testid={testId} aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-plot" style={`min-height:${height}px`} />
      <small class="chart-totals" data-testid={testId ? `${testId}-totals` : undefined}>{totals(series)}</small>
    </figure>
  );
}
