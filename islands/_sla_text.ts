/**
 * Words for the SLA islands: the page sends the source text of its messages
 * (ICU MessageFormat) with the language and the organization's zone; this
 * formats them in the browser like the server does, and writes durations
 * ("2 ч 5 мин"). Imports only types from the server.
 */
import { IntlMessageFormat } from "intl-messageformat";

export interface SlaI18n {
  locale: "ru" | "en";
  timeZone: string;
  messages: Record<string, string>;
}

export interface SlaTranslator {
  t(key: string, params?: Record<string, string | number>): string;
  dateTime(value: string | number): string;
}

const INTL = { ru: "ru-RU", en: "en-GB" } as const;
const cache = new Map<string, IntlMessageFormat>();

export function slaTranslator({ locale, timeZone, messages }: SlaI18n): SlaTranslator {
  const intl = INTL[locale] ?? "ru-RU";
  return {
    t(key, params) {
      const source = messages[key];
      if (source === undefined) return key;
      let m = cache.get(`${locale}\0${key}`);
      if (!m) cache.set(`${locale}\0${key}`, m = new IntlMessageFormat(source, intl));
      return String(m.format(params));
    },
    dateTime: (value) =>
      new Intl.DateTimeFormat(intl, { dateStyle: "short", timeStyle: "short", timeZone }).format(new Date(value)),
  };
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
