/**
 * Areas whose capability is not built yet: the page says so plainly and
 * shows the area's live events, so the navigation never leads to a 404.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout, type NavKey } from "./layout.tsx";
import { render } from "./render.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island } from "./island.tsx";
import type { MessageKey } from "../../lib/i18n/mod.ts";
import { islandI18n, pageT } from "./i18n.ts";

export function plannedAreaPage(
  hub: Hub,
  area: { key: NavKey; title: MessageKey; about: MessageKey; types: string[] },
) {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t } = pageT(page);
    const initial = await hub.events.recent(page.org.id, { types: area.types, limit: 20 });
    return render(
      c,
      <Layout title={t(area.title)} active={area.key} page={page}>
        <p>{t(area.about)}</p>
        <p>
          <mark>{t("planned.notYet")}</mark> {t("planned.eventsBelow")}
        </p>
        <Island name="events_feed" props={{ initial, types: area.types, i18n: islandI18n(page, ["events."]) }} />
      </Layout>,
    );
  });
  return app;
}
