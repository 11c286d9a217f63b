/**
 * The Connectors & SLA page (/admin/connectors): the live SLA dashboard and
 * the connectors with their status, in the user's language, and for admins
 * the organization's poll settings (interval, saved filters, deadline). Data
 * is loaded here; the island follows the event stream.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { messagesFor, translator } from "../../lib/i18n/mod.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island, registerIsland } from "./island.tsx";
import { formText } from "./i18n.ts";
import SlaDashboard from "../../islands/sla_dashboard.tsx";

registerIsland("sla_dashboard", SlaDashboard);

export function connectorPages(hub: Hub) {
  const svc = hub.connectors;
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const org = page.org.id;
    const { t } = translator(page.locale);
    const [dashboard, poll, connectors, settings, stored] = await Promise.all([
      svc.sla.dashboard(org),
      svc.dispatcher.pollState(org),
      svc.registry.list(org),
      svc.dispatcher.settings(org),
      hub.settings.read(org, "sla"),
    ]);
    const env = hub.config;
    // Where each value comes from: the organization's own setting, or the environment's default.
    const source = (field: string, envName: string, envValue: string | number | undefined) =>
      stored?.[field] !== undefined && stored[field] !== ""
        ? t("connectors.settings.source.org")
        : t("connectors.settings.source.env", { name: envName, value: envValue ?? "—" });
    return render(
      c,
      <Layout title={t("connectors.title")} active="connectors" page={page}>
        <p>{t("connectors.lead")}</p>
        <Island
          name="sla_dashboard"
          props={{
            dashboard: { ...dashboard, poll },
            connectors,
            i18n: { locale: page.locale, timeZone: page.timeZone, messages: messagesFor(page.locale, ["connectors."]) },
            canOperate: hasRole(page.role, "operator"),
            canAdmin: hasRole(page.role, "admin"),
          }}
        />
        <h2>{t("connectors.settings.title")}</h2>
        <p>
          <small data-testid="sla-interval-now">
            {t("connectors.settings.lead", { seconds: settings.intervalSec })}
          </small>
        </p>
        {hasRole(page.role, "admin") && (
          <Island
            name="api_form"
            props={{
              action: "/api/v1/sla/settings",
              method: "PUT",
              submitLabel: t("common.save"),
              text: formText(page),
              testId: "sla-settings",
              fields: [
                {
                  name: "intervalSec",
                  label: t("connectors.settings.interval"),
                  type: "number",
                  value: stored?.intervalSec !== undefined ? settings.intervalSec : "",
                  placeholder: String(env.SLA_INTERVAL),
                  clearable: true,
                  source: source("intervalSec", "SLA_INTERVAL", env.SLA_INTERVAL),
                },
                {
                  name: "filterArrears",
                  label: t("connectors.settings.filterArrears"),
                  value: String(stored?.filterArrears ?? ""),
                  placeholder: env.FILTER_ARREARS,
                  clearable: true,
                  source: source("filterArrears", "FILTER_ARREARS", env.FILTER_ARREARS),
                },
                {
                  name: "filterStopped",
                  label: t("connectors.settings.filterStopped"),
                  value: String(stored?.filterStopped ?? ""),
                  placeholder: env.FILTER_STOPPED,
                  clearable: true,
                  source: source("filterStopped", "FILTER_STOPPED", env.FILTER_STOPPED),
                },
                {
                  name: "deadlineSec",
                  label: t("connectors.settings.deadline"),
                  type: "number",
                  value: stored?.deadlineSec !== undefined ? settings.deadlineSec : "",
                  placeholder: String(env.SLA_DEADLINE_SEC),
                  clearable: true,
                  source: source("deadlineSec", "SLA_DEADLINE_SEC", env.SLA_DEADLINE_SEC),
                },
              ],
            }}
          />
        )}
      </Layout>,
    );
  });
  return app;
}
