/**
 * The Connectors & SLA page (/admin/connectors): the live SLA dashboard and
 * the connectors with their status, in the user's language. Data is loaded
 * here; the island follows the event stream.
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
import SlaDashboard from "../../islands/sla_dashboard.tsx";

registerIsland("sla_dashboard", SlaDashboard);

export function connectorPages(hub: Hub) {
  const svc = hub.connectors;
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const org = page.org.id;
    const { t } = translator(page.locale);
    const [dashboard, poll, connectors] = await Promise.all([
      svc.sla.dashboard(org),
      svc.dispatcher.pollState(org),
      svc.registry.list(org),
    ]);
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
      </Layout>,
    );
  });
  return app;
}
