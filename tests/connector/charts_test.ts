/**
 * The SLA dashboard's charts: their own bundle, fetched by the island only in
 * the browser (the island's bundle carries no chart code), and the hourly
 * trend they draw over at least a day, the hours without a poll left as gaps.
 */
import assert from "node:assert/strict";
import { trendSeries } from "../../islands/sla_charts.lazy.tsx";

const islands = new URL("../../static/islands/", import.meta.url);

Deno.test("the SLA island loads the charts as a bundle of their own instead of carrying them", async () => {
  const island = await Deno.readTextFile(new URL("sla_dashboard.js", islands));
  const charts = await Deno.readTextFile(new URL("sla_charts.lazy.js", islands));
  assert.ok(island.includes("/static/islands/sla_charts.lazy.js"), "the island imports the charts' bundle by URL");
  for (const marker of ["uPlot.iife.min.js", "chart-totals"]) {
    assert.ok(!island.includes(marker), `the island bundle carries chart code (${marker})`);
    assert.ok(charts.includes(marker), `the charts' bundle lacks ${marker}`);
  }
  assert.match(charts, /export\s*\{[^}]*renderSlaCharts/, "the charts' bundle exports renderSlaCharts");
});

Deno.test("trendSeries() runs hour by hour over at least a day up to now, empty where no poll was stored", () => {
  const h = (n: number) => Date.parse("2026-12-01T00:00:00.000Z") + n * 3600_000;
  const point = (n: number, arrears: number) => ({
    hour: new Date(h(n)).toISOString(),
    arrears,
    stopped: 1,
    overdueMs: arrears * 3600_000,
  });
  const day = trendSeries([point(0, 2), point(2, 5)], h(3) + 1800_000);
  assert.equal(day.hours.length, 24);
  assert.equal(day.hours[0], h(-20));
  assert.deepEqual(day.hours.slice(-4), [h(0), h(1), h(2), h(3)]);
  assert.deepEqual(day.points.slice(-5).map((p) => p?.arrears ?? null), [null, 2, null, 5, null]);
  // Two days of history: every hour from the first point on.
  const long = trendSeries([point(-40, 1), point(3, 4)], h(3) + 5);
  assert.equal(long.hours.length, 44);
  assert.equal(long.points[0]?.arrears, 1);
  assert.equal(long.points[43]?.arrears, 4);
  assert.deepEqual(trendSeries([], h(3)).points.filter(Boolean), [], "no points yet: an empty day");
});
