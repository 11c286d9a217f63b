/** The Overview ("/admin"): the live dashboard of every area, then the organization's own settings. */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island, registerIsland } from "./island.tsx";
import { requirePage } from "../middleware/auth.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { buildDashboard } from "../../lib/dashboard/mod.ts";
import { formText, islandI18n, pageT } from "./i18n.ts";
import Dashboard from "../../islands/dashboard.tsx";
import Chart from "../../islands/chart.tsx";

registerIsland("dashboard", Dashboard);
registerIsland("chart", Chart);

/** The messages the dashboard island words itself with (not the page's own, e.g. the owner-only form). */
const DASHBOARD_MESSAGES = [
  "overview.area.",
  "overview.health.",
  "overview.count.",
  "overview.failed",
  "overview.attention.",
  "overview.last",
  "overview.overdue",
  "overview.chart",
  "overview.series.",
  "overview.checklist",
  "overview.updated",
  "overview.truncated",
  "overview.journal",
  "overview.planned",
];

export function overviewPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t } = pageT(page);
    const data = await buildDashboard(hub, page.org.id);
    return render(
      c,
      <Layout title={t("overview.title")} active="home" page={page}>
        <link rel="stylesheet" href="/static/vendor/uPlot.min.css" />
        <link rel="stylesheet" href="/static/dashboard.css" />
        <Island name="dashboard" props={{ initial: data, i18n: islandI18n(page, DASHBOARD_MESSAGES) }} />
        {hasRole(page.role, "admin") && (
          <p>
            <a href="/admin/settings">{t("overview.settingsLink")}</a>
          </p>
        )}
        {page.role === "owner" && (
          <details>
            <summary>{t("overview.newOrg")}</summary>
            <p>
              <small>{t("overview.newOrg.lead")}</small>
            </p>
            <Island
              name="api_form"
              props={{
                action: "/api/v1/orgs",
                submitLabel: t("common.create"),
                text: formText(page),
                fields: [{
                  name: "name",
                  label: t("overview.newOrg.name"),
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
