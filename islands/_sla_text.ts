/**
 * Words for the SLA islands: the shared island translator (islands/_i18n.ts)
 * with dynamic keys allowed, and durations ("2 ч 5 мин").
 */
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

export type SlaI18n = IslandI18n;

export interface SlaTranslator {
  /** Keys may be built at run time (`connectors.state.${state}`); an unknown key shows as itself. */
  t(key: string, params?: Record<string, string | number>): string;
  dateTime(value: string | number): string;
}

export function slaTranslator(i18n: SlaI18n): SlaTranslator {
  const tr = islandTranslator(i18n);
  return { t: (key, params) => tr.t(key as MessageKey, params), dateTime: (value) => tr.dateTime(value) };
}

/** `3 д 4 ч`, `2 ч 5 мин`, `7 мин`; under a minute in words. */
export function durationText(ms: number, { t }: Pick<SlaTranslator, "t">): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return t("connectors.unit.lessThanMinute");
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d} ${t("connectors.unit.d")}`);
  if (h) parts.push(`${h} ${t("connectors.unit.h")}`);
  if (m && !d) parts.push(`${m} ${t("connectors.unit.m")}`);
  return parts.join(" ");
}
