/** The Overview ("/admin"): the live dashboard of every area, then the organization's own settings. */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island, registerIsland } from "./island.tsx";
import { requirePage } from "../middleware/auth.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { generalSettings } from "../../lib/general_settings.ts";
import { buildDashboard } from "../../lib/dashboard/mod.ts";
import { translator } from "../../lib/i18n/mod.ts";
import Dashboard from "../../islands/dashboard.tsx";
import Chart from "../../islands/chart.tsx";

registerIsland("dashboard", Dashboard);
registerIsland("chart", Chart);

export function overviewPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t } = translator(page.locale);
    const [settings, data] = await Promise.all([generalSettings(hub, page.org.id), buildDashboard(hub, page.org.id)]);
    return render(
      c,
      <Layout title={t("overview.title")} active="home" page={page}>
        <link rel="stylesheet" href="/static/vendor/uPlot.min.css" />
        <link rel="stylesheet" href="/static/dashboard.css" />
        <Island name="dashboard" props={{ initial: data, locale: page.locale }} />
        {hasRole(page.role, "admin") && (
          <details id="settings">
            <summary>{t("overview.settings")}</summary>
            <Island
              name="api_form"
              props={{
                action: "/api/v1/settings/general",
                method: "PUT",
                submitLabel: t("common.save"),
                fields: [
                  {
                    name: "timezone",
                    label: t("overview.settings.timezone"),
                    value: settings.timezone,
                    required: true,
                  },
                  {
                    name: "allowPrivateNetworks",
                    label: t("overview.settings.private"),
                    type: "checkbox",
                    value: settings.allowPrivateNetworks,
                  },
                ],
              }}
            />
          </details>
        )}
        {page.role === "owner" && (
          <details>
            <summary>{t("overview.neworg")}</summary>
            <p>
              <small>{t("overview.neworg.lead")}</small>
            </p>
            <Island
              name="api_form"
              props={{
                action: "/api/v1/orgs",
                submitLabel: t("common.create"),
                fields: [{
                  name: "name",
                  label: t("overview.neworg.name"),
                  required: true,
                  placeholder: "ООО «Ромашка»",
                }],
              }}
            />
          </details>
        )}
      </Layout>,
    );
  });

  return app;
}
