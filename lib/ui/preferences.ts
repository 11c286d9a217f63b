/**
 * A person's panel preferences kept per user (not per organization): the
 * language. Stored under `["ui_pref", userId]`; the page frame reads it on
 * every page, so it is one small KV read.
 */
import { isLocale, type Locale, negotiateLocale } from "../i18n/mod.ts";
import { generalSettings } from "../general_settings.ts";
import type { Hub } from "../hub.ts";

export interface UiPreferences {
  locale?: Locale;
}

/** The stored preferences of `userId` (empty when none were chosen). */
export async function uiPreferences(kv: Deno.Kv, userId: string): Promise<UiPreferences> {
  const value = (await kv.get<UiPreferences>(["ui_pref", userId])).value;
  return value && isLocale(value.locale) ? { locale: value.locale } : {};
}

/** Stores the language `userId` chose; `undefined` goes back to the browser's language. */
export async function setUiLocale(kv: Deno.Kv, userId: string, locale: Locale | undefined): Promise<void> {
  if (locale) await kv.set(["ui_pref", userId], { locale } satisfies UiPreferences);
  else await kv.delete(["ui_pref", userId]);
}

/**
 * What every admin page's frame needs beyond the session: the language (the
 * user's choice, then `Accept-Language`, then Russian) and the organization's
 * time zone, in which every date on the page is shown.
 */
export async function pageFrame(
  hub: Pick<Hub, "kv" | "settings" | "config">,
  { userId, org, acceptLanguage }: { userId: string; org: string; acceptLanguage?: string | null },
): Promise<{ locale: Locale; timeZone: string }> {
  const [prefs, general] = await Promise.all([uiPreferences(hub.kv, userId), generalSettings(hub, org)]);
  return { locale: negotiateLocale(prefs.locale, acceptLanguage), timeZone: general.timezone };
}
