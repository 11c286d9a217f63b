/** The admin frame: navigation for the five areas, organization switcher, account menu. */
import type { ComponentChildren } from "preact";
import type { PageContext } from "../app_env.ts";

export type NavKey =
  | "home"
  | "scheduler"
  | "onec"
  | "enrichment"
  | "connectors"
  | "notifications"
  | "events"
  | "members"
  | "tokens"
  | "audit"
  | "dead";

const AREAS: Array<[NavKey, string, string]> = [
  ["scheduler", "Scheduler", "/admin/scheduler"],
  ["onec", "1C → Bitrix24", "/admin/onec"],
  ["enrichment", "Enrichment", "/admin/enrichment"],
  ["connectors", "Connectors & SLA", "/admin/connectors"],
  ["notifications", "Notifications", "/admin/notifications"],
];
const ADMIN: Array<[NavKey, string, string]> = [
  ["events", "Events", "/admin/events"],
  ["members", "Members", "/admin/members"],
  ["tokens", "API tokens", "/admin/tokens"],
  ["audit", "Audit log", "/admin/audit"],
  ["dead", "Dead letters", "/admin/dead-letters"],
];

/** Head and body frame shared by every page (login included). */
export function Document({ title, csrf, children }: { title: string; csrf?: string; children: ComponentChildren }) {
  return (
    <html lang="ru">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {csrf && <meta name="csrf-token" content={csrf} />}
        <title>{title} · Shlyuz</title>
        <link rel="stylesheet" href="/static/vendor/pico.min.css" />
        <link rel="stylesheet" href="/static/shlyuz.css" />
        <link rel="icon" href="data:," />
      </head>
      <body>{children}</body>
    </html>
  );
}

export function Layout(
  { title, active, page, children }: { title: string; active: NavKey; page: PageContext; children: ComponentChildren },
) {
  const link = ([key, label, href]: [NavKey, string, string]) => (
    <li key={key}>
      <a href={href} aria-current={key === active ? "page" : undefined}>{label}</a>
    </li>
  );
  return (
    <Document title={title} csrf={page.csrf}>
      <header class="container">
        <nav>
          <ul>
            <li>
              <a href="/admin">
                <strong>Шлюз</strong>
              </a>
            </li>
          </ul>
          <ul>
            {page.orgs.length > 1 && (
              <li>
                <form method="post" action="/admin/switch-org" style="margin:0;display:flex;gap:0.25rem">
                  <input type="hidden" name="_csrf" value={page.csrf} />
                  <select name="org" aria-label="Organization" style="margin:0">
                    {page.orgs.map(({ org, role }) => (
                      <option value={org.id} selected={org.id === page.org.id}>{org.name} ({role})</option>
                    ))}
                  </select>
                  <button type="submit" class="secondary outline" style="padding:0.25rem 0.5rem">Switch</button>
                </form>
              </li>
            )}
            {page.orgs.length <= 1 && (
              <li>
                <small>{page.org.name} · {page.role}</small>
              </li>
            )}
            <li>
              <form method="post" action="/admin/logout" style="margin:0">
                <input type="hidden" name="_csrf" value={page.csrf} />
                <button type="submit" class="secondary outline" style="padding:0.25rem 0.75rem">
                  Log out {page.user.email}
                </button>
              </form>
            </li>
          </ul>
        </nav>
        <nav class="areas">
          <ul>{AREAS.map(link)}</ul>
        </nav>
        <nav class="areas">
          <ul>{ADMIN.map(link)}</ul>
        </nav>
      </header>
      <main class="container">
        <h1>{title}</h1>
        {children}
      </main>
      <footer class="container">
        <small>
          <a href="/docs">API docs</a> · <a href="/healthz">health</a> · <a href="/metrics">metrics</a>
        </small>
      </footer>
    </Document>
  );
}
