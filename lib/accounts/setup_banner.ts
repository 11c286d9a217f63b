/**
 * The console banner of a first start with no organization: the setup link on
 * a line of its own that starts with `SETUP` (the login page tells people to
 * look for that line), framed so it stands out among the JSON log lines.
 */
import { SETUP_LINK_TTL_MS } from "./bootstrap.ts";

/**
 * The banner's text for `setupUrl`.
 *
 * @example
 * ```ts
 * console.log(setupBanner("http://127.0.0.1:8000/admin/setup/abc"));
 * // ======…
 * // SETUP  Создайте первую организацию и её владельца: откройте ссылку
 * // SETUP  http://127.0.0.1:8000/admin/setup/abc
 * // …
 * ```
 */
export function setupBanner(setupUrl: string): string {
  const hours = Math.round(SETUP_LINK_TTL_MS / 3600_000);
  const rule = "=".repeat(Math.max(72, setupUrl.length + 7));
  return [
    "",
    rule,
    "SETUP  Создайте первую организацию и её владельца: откройте ссылку",
    "       (create the first organization and its owner: open the link)",
    `SETUP  ${setupUrl}`,
    `       Ссылка одноразовая и действует ${hours} ч (one use, valid for ${hours} h).`,
    "       Без ссылки: SHLYUZ_ADMIN_EMAIL и SHLYUZ_ADMIN_PASSWORD (without it: set both).",
    rule,
    "",
  ].join("\n");
}
