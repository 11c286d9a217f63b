/**
 * The language of a request that has no page context yet (login, setup, error
 * pages): the cookie the language picker sets, else `Accept-Language`, else
 * Russian. Signed-in pages use the user's stored choice (lib/ui/preferences.ts).
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { type Locale, negotiateLocale } from "../../lib/i18n/mod.ts";

export const LOCALE_COOKIE = "shlyuz_locale";

export function requestLocale(c: Context): Locale {
  return negotiateLocale(getCookie(c, LOCALE_COOKIE), c.req.header("accept-language"));
}

/** Remembers the choice in the browser too, so the login page after logging out keeps the language. */
export function rememberLocale(c: Context, locale: Locale): void {
  setCookie(c, LOCALE_COOKIE, locale, { path: "/", sameSite: "Lax", maxAge: 365 * 24 * 3600 });
}
