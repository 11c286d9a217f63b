/**
 * Translation for the admin panel: Russian first, English available. The
 * language is the user's setting, else the best match of `Accept-Language`,
 * else Russian. Messages are ICU MessageFormat (intl-messageformat, FormatJS),
 * dates and numbers go through `Intl` in one format. Pure: islands may import it.
 * API error messages are not translated — programs rely on them.
 */
import { IntlMessageFormat } from "intl-messageformat";
import { type MessageKey, MESSAGES } from "./messages/mod.ts";

export type { MessageKey };
export const LOCALES = ["ru", "en"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "ru";

export function isLocale(value: unknown): value is Locale {
  return value === "ru" || value === "en";
}

/** The user's own choice wins; then `Accept-Language` by quality; then Russian. */
export function negotiateLocale(
  preferred: string | null | undefined,
  acceptLanguage: string | null | undefined,
): Locale {
  if (isLocale(preferred)) return preferred;
  if (!acceptLanguage) return DEFAULT_LOCALE;
  const ranked = acceptLanguage.split(",").map((part, index) => {
    const [tag, ...params] = part.trim().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const quality = q ? Number(q.slice(2)) : 1;
    return { lang: tag.trim().toLowerCase().split("-")[0], quality: Number.isFinite(quality) ? quality : 0, index };
  }).filter((r) => r.quality > 0).sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { lang } of ranked) if (isLocale(lang)) return lang;
  return DEFAULT_LOCALE;
}

export type MessageParams = Record<string, string | number | Date>;

export interface Translator {
  locale: Locale;
  /** The message `key` in this language with `params` filled in. */
  t(key: MessageKey, params?: MessageParams): string;
  /** A date and time in one format (`02.12.2026, 10:33`), in `timeZone` when given. */
  dateTime(value: Date | number | string, timeZone?: string): string;
  /**
   * A date and time in `timeZone`, followed by the zone's name only when it is
   * not the page's zone (`pageZone`): one zone on a page reads without labels.
   */
  zoned(value: Date | number | string, timeZone: string, pageZone: string): string;
  /** A number with the language's grouping (`12 345`). */
  number(value: number, options?: Intl.NumberFormatOptions): string;
}

/** The `Intl` locale behind each panel language. */
export const INTL_LOCALE: Record<Locale, string> = { ru: "ru-RU", en: "en-GB" };

/** The one date-and-time format of the panel (islands use the same options). */
export const DATE_TIME_OPTIONS: Intl.DateTimeFormatOptions = { dateStyle: "short", timeStyle: "short" };

/**
 * The source text of every message whose key starts with one of `prefixes`:
 * what an island gets as a prop to format its own strings (islands/_i18n.ts).
 */
export function messagesFor(locale: Locale, prefixes: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(MESSAGES[locale])) {
    if (prefixes.some((p) => key.startsWith(p))) out[key] = text;
  }
  return out;
}

const compiled = new Map<string, IntlMessageFormat>();
const translators = new Map<Locale, Translator>();

function format(locale: Locale, key: MessageKey, params?: MessageParams): string {
  const cacheKey = `${locale}\0${key}`;
  let message = compiled.get(cacheKey);
  if (!message) {
    const source = MESSAGES[locale][key] ?? MESSAGES[DEFAULT_LOCALE][key];
    if (source === undefined) return key;
    message = new IntlMessageFormat(source, INTL_LOCALE[locale]);
    compiled.set(cacheKey, message);
  }
  return String(message.format(params));
}

function dateTimeIn(locale: Locale, value: Date | number | string, timeZone?: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "—";
  const key = `${locale}\0${timeZone ?? ""}`;
  let formatter = dateFormats.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(INTL_LOCALE[locale], {
      ...DATE_TIME_OPTIONS,
      ...(timeZone ? { timeZone } : {}),
    });
    dateFormats.set(key, formatter);
  }
  return formatter.format(date);
}
const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The translator for `locale` (built once per language). */
export function translator(locale: Locale): Translator {
  let tr = translators.get(locale);
  if (tr) return tr;
  const numbers = new Intl.NumberFormat(INTL_LOCALE[locale]);
  tr = {
    locale,
    t: (key, params) => format(locale, key, params),
    dateTime: (value, timeZone) => dateTimeIn(locale, value, timeZone),
    zoned: (value, timeZone, pageZone) =>
      dateTimeIn(locale, value, timeZone) + (timeZone === pageZone ? "" : ` (${timeZone})`),
    number: (value, options) =>
      options ? new Intl.NumberFormat(INTL_LOCALE[locale], options).format(value) : numbers.format(value),
  };
  translators.set(locale, tr);
  return tr;
}
