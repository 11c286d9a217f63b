/**
 * The Overview dashboard: a health card per area, small hourly charts of the
 * last 24 h, overdue messages and the first-run checklist, computed from the
 * stores that exist (see areas.ts for what is scanned and what is counted).
 *
 * @example
 * const data = await buildDashboard(hub, org);
 * data.cards.find((c) => c.key === "scheduler")?.failed24h;
 */
import type { Hub } from "../hub.ts";
import { generalSettings } from "../general_settings.ts";
import { deadArea, enrichmentArea, onecArea, schedulerArea } from "./areas.ts";
import { firstRunChecklist } from "./checklist.ts";
import { lastHours } from "./time.ts";
import type { AreaCard, DashboardData } from "./types.ts";

export type { DashboardData } from "./types.ts";

/** Cards of areas not built yet; their capability replaces the placeholder with its own card. */
const PLANNED: AreaCard[] = [
  {
    key: "notifications",
    href: "/admin/notifications",
    health: "idle",
    total24h: 0,
    failed24h: 0,
    attention: [],
    planned: true,
  },
  {
    key: "connectors",
    href: "/admin/connectors",
    health: "idle",
    total24h: 0,
    failed24h: 0,
    attention: [],
    planned: true,
  },
];

/** Everything the Overview shows for `org`, as of the hub's clock. */
export async function buildDashboard(hub: Hub, org: string): Promise<DashboardData> {
  const now = hub.clock.now();
  const hours = lastHours(now, 24);
  const [general, checklist] = await Promise.all([generalSettings(hub, org), firstRunChecklist(hub, org)]);
  const configured = checklist.find((i) => i.key === "bitrix")?.done ?? false;
  const areas = await Promise.all([
    schedulerArea(hub, org, hours),
    enrichmentArea(hub, org, hours),
    onecArea(hub, org, hours, { configured }),
    deadArea(hub, org, hours),
  ]);
  const [sched, enrich] = areas;
  return {
    generatedAt: new Date(now).toISOString(),
    timeZone: general.timezone,
    hours,
    cards: [...areas.map((a) => a.card), ...PLANNED],
    charts: areas.flatMap((a) => a.charts),
    overdue: {
      total: (sched.overdue ?? 0) + (enrich.overdue ?? 0),
      schedules: sched.overdue ?? 0,
      enrichment: enrich.overdue ?? 0,
    },
    checklist,
    truncated: areas.some((a) => a.truncated),
  };
}
