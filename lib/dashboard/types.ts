/**
 * The Overview dashboard's data as the API answers it and the island renders
 * it. Pure types only: islands import this module.
 */

/** How an area is doing: `fail` — the last outcome failed or something needs action; `idle` — nothing ran in 24 h. */
export type Health = "ok" | "warn" | "fail" | "idle";

/** One thing that needs attention; the page words it with `overview.attention.<code>`. */
export interface Attention {
  code: string;
  count?: number;
  name?: string;
  /** Where the operator fixes it. */
  href?: string;
}

/** A health card of one area. */
export interface AreaCard {
  /** `scheduler`, `enrichment`, `onec`, `dead`, later `notifications`, `connectors`. */
  key: string;
  href: string;
  health: Health;
  /** The newest finished execution, if any in the stores. */
  last?: { at: string; ok: boolean; label: string };
  /** Executions in the last 24 h and how many of them failed. */
  total24h: number;
  failed24h: number;
  attention: Attention[];
  /** True for an area not built yet (a placeholder card). */
  planned?: boolean;
}

/** One line or bar series of a chart. */
export interface ChartSeries {
  /** Message key of its label, e.g. `overview.series.ok`. */
  label: string;
  values: Array<number | null>;
  color: string;
  kind: "bars" | "line";
  /** Drawn against the right-hand axis (e.g. a duration next to counts). */
  right?: boolean;
}

/** A small chart over the 24 hourly buckets. */
export interface ChartSpec {
  key: string;
  /** Message key of its title. */
  title: string;
  series: ChartSeries[];
  /** Unit of the right axis, e.g. `ms`, `%`. */
  rightUnit?: string;
}

export interface ChecklistItem {
  /** `bitrix`, `dadata`, `yandexgpt`, `private_network`, `token`. */
  key: string;
  done: boolean;
  href: string;
  /** Where its connection can be tested, for items that have one. */
  testHref?: string;
  /** Where the value comes from when done: `organization` or `environment`. */
  source?: "organization" | "environment";
}

export interface DashboardData {
  generatedAt: string;
  timeZone: string;
  /** Start of each hourly bucket (epoch ms), oldest first; the last is the current hour. */
  hours: number[];
  cards: AreaCard[];
  charts: ChartSpec[];
  /** Messages whose time has come and that nobody has handled yet (not future scheduled fires). */
  overdue: { total: number; schedules: number; enrichment: number };
  checklist: ChecklistItem[];
  /** A bounded scan hit its cap: the counts are lower bounds. */
  truncated: boolean;
}
