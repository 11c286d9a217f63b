/** The admin frame: navigation for the five areas, organization switcher, account menu, language. */
import type { ComponentChildren } from "preact";
import type { PageContext } from "../app_env.ts";
import { hasRole, type Role } from "../../lib/accounts/roles.ts";
import { type Locale, type MessageKey, translator } from "../../lib/i18n/mod.ts";
import { ROLE_LABEL } from "./i18n.ts";

export type NavKey =
  | "home"
  | "scheduler"
  | "onec"
  | "enrichment"
  | "connectors"
  | "notifications"
  | "events"
  | "executions"
  | "members"
  | "tokens"
  | "audit"
  | "dead"
  | "settings";

interface NavEntry {
  key: NavKey;
  label: MessageKey;
  href: string;
  /** The least role that may open the page: the entry is hidden from others. */
  min: Role;
}

const AREAS: NavEntry[] = [
  { key: "scheduler", label: "common.nav.scheduler", href: "/admin/scheduler", min: "viewer" },
  { key: "onec", label: "common.nav.onec", href: "/admin/onec", min: "viewer" },
  { key: "enrichment", label: "common.nav.enrichment", href: "/admin/enrichment", min: "viewer" },
  { key: "connectors", label: "common.nav.connectors", href: "/admin/connectors", min: "viewer" },
  { key: "notifications", label: "common.nav.notifications", href: "/admin/notifications", min: "viewer" },
];
const ADMIN: NavEntry[] = [
  { key: "executions", label: "executions.nav", href: "/admin/executions", min: "viewer" },
  { key: "events", label: "common.nav.events", href: "/admin/events", min: "viewer" },
  { key: "members", label: "common.nav.members", href: "/admin/members", min: "viewer" },
  { key: "tokens", label: "common.nav.tokens", href: "/admin/tokens", min: "admin" },
  { key: "audit", label: "common.nav.audit", href: "/admin/audit", min: "admin" },
  { key: "dead", label: "common.nav.dead", href: "/admin/dead-letters", min: "operator" },
  { key: "settings", label: "common.nav.settings", href: "/admin/settings", min: "admin" },
];

/** Head and body frame shared by every page (login included). */
export function Document(
  { title, csrf, locale = "ru", children }: {
    title: string;
    csrf?: string;
    locale?: Locale;
    children: ComponentChildren;
  },
) {
  return (
    <html lang={locale}>
      <Head title={title} csrf={csrf} locale={locale} stylesheets={PANEL_STYLES} />
      <body>{children}</body>
    </html>
  );
}

const PANEL_STYLES = ["/static/vendor/pico.min.css", "/static/shlyuz.css"];

/**
 * A page's `<head>`: the title with the brand, the favicon, `stylesheets`,
 * and the session's CSRF token for the scripts that write (islands, /docs).
 */
export function Head(
  { title, csrf, locale, stylesheets }: { title: string; csrf?: string; locale: Locale; stylesheets: string[] },
) {
  const { t } = translator(locale);
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      {csrf && <meta name="csrf-token" content={csrf} />}
      <title>{title} · {t("common.brand")}</title>
      {stylesheets.map((href) => <link key={href} rel="stylesheet" href={href} />)}
      <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
    </head>
  );
}

/** The language picker: a plain form (no script), stored per user. */
function LanguageForm({ page }: { page: PageContext }) {
  const { t } = translator(page.locale);
  return (
    <form method="post" action="/admin/preferences/locale" class="inline-form" data-testid="locale-form">
      <input type="hidden" name="_csrf" value={page.csrf} />
      <select name="locale" aria-label={t("common.language")}>
        <option value="ru" selected={page.locale === "ru"}>Русский</option>
        <option value="en" selected={page.locale === "en"}>English</option>
      </select>
      <button type="submit" class="secondary outline">{t("common.language.apply")}</button>
    </form>
  );
}

export function Layout(
  { title, active, page, children }: { title: string; active: NavKey; page: PageContext; children: ComponentChildren },
) {
  const { t } = translator(page.locale);
  const link = ({ key, label, href }: NavEntry) => (
    <li key={key}>
      <a href={href} aria-current={key === active ? "page" : undefined}>{t(label)}</a>
    </li>
  );
  const visible = (entries: NavEntry[]) => entries.filter((e) => hasRole(page.role, e.min)).map(link);
  return (
    <Document title={title} csrf={page.csrf} locale={page.locale}>
      <header class="container">
        <nav class="top">
          <ul>
            <li>
              <a href="/admin" aria-current={active === "home" ? "page" : undefined}>
                <strong>{t("common.brand")}</strong>
              </a>
            </li>
          </ul>
          <ul>
            {page.orgs.length > 1 && (
              <li>
                <form method="post" action="/admin/switch-org" class="inline-form">
                  <input type="hidden" name="_csrf" value={page.csrf} />
                  <select name="org" aria-label={t("common.org")}>
                    {page.orgs.map(({ org, role }) => (
                      <option value={org.id} selected={org.id === page.org.id}>
                        {org.name} ({t(ROLE_LABEL[role])})
                      </option>
                    ))}
                  </select>
                  <button type="submit" class="secondary outline">{t("common.org.switch")}</button>
                </form>
              </li>
            )}
            {page.orgs.length <= 1 && (
              <li>
                <small>{page.org.name} · {t(ROLE_LABEL[page.role])}</small>
              </li>
            )}
            <li>
              <form method="post" action="/admin/logout" class="inline-form">
                <input type="hidden" name="_csrf" value={page.csrf} />
                <button type="submit" class="secondary outline" title={page.user.email}>
                  {t("common.logout")}
                </button>
              </form>
            </li>
          </ul>
        </nav>
        <nav class="areas">
          <ul>{visible(AREAS)}</ul>
        </nav>
        <nav class="areas">
          <ul>{visible(ADMIN)}</ul>
        </nav>
      </header>
      <main class="container">
        <h1>{title}</h1>
        {children}
      </main>
      <footer class="container">
        <small>
          <a href="/docs">{t("common.footer.docs")}</a> · <a href="/healthz">{t("common.footer.health")}</a>
          {hasRole(page.role, "admin") && (
            <>
              {" · "}
              <a href="/metrics">{t("common.footer.metrics")}</a>
            </>
          )}
        </small>
        <LanguageForm page={page} />
      </footer>
    </Document>
  );
}
