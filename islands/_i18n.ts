/**
 * Translation inside islands. The page hands an island the source text of the
 * messages it needs (`messagesFor` in lib/i18n/mod.ts) with the language and
 * the organization's zone; this formats them with the same ICU library and
 * the same date format as the server. Imports only a type from the server.
 */
import { IntlMessageFormat } from "intl-messageformat";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

/** What a page passes to an island so it can speak the page's language. */
export interface IslandI18n {
  locale: "ru" | "en";
  /** The organization's time zone: dates are shown in it, other zones are named. */
  timeZone: string;
  messages: Record<string, string>;
}

export interface IslandTranslator {
  t(key: MessageKey, params?: Record<string, string | number | Date>): string;
  /** `02.12.2026, 10:33` in `zone` (default the organization's), the zone named when it is another. */
  dateTime(value: string | number | Date | undefined, zone?: string): string;
  number(value: number): string;
}

const INTL: Record<IslandI18n["locale"], string> = { ru: "ru-RU", en: "en-GB" };
const cache = new Map<string, IntlMessageFormat>();

/** A translator over the messages the page sent; a key it did not send shows as the key itself. */
export function islandTranslator({ locale, timeZone, messages }: IslandI18n): IslandTranslator {
  const intl = INTL[locale] ?? "ru-RU";
  return {
    t(key, params) {
      const source = messages[key];
      if (source === undefined) return key;
      const id = `${locale}\0${key}`;
      let message = cache.get(id);
      if (!message) {
        message = new IntlMessageFormat(source, intl);
        cache.set(id, message);
      }
      return String(message.format(params));
    },
    dateTime(value, zone = timeZone) {
      if (value === undefined || value === "") return "—";
      const date = new Date(value);
      if (Number.isNaN(date.getTime())) return "—";
      const text = new Intl.DateTimeFormat(intl, { dateStyle: "short", timeStyle: "short", timeZone: zone })
        .format(date);
      return zone === timeZone ? text : `${text} (${zone})`;
    },
    number: (value) => new Intl.NumberFormat(intl).format(value),
  };
}
