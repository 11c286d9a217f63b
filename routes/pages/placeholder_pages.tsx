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
import { generalSettings } from "../../lib/general_settings.ts";

export function plannedAreaPage(hub: Hub, area: { key: NavKey; title: string; about: string; types: string[] }) {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const tz = (await generalSettings(hub, page.org.id)).timezone;
    const initial = await hub.events.recent(page.org.id, { types: area.types, limit: 20 });
    return render(
      c,
      <Layout title={area.title} active={area.key} page={page}>
        <p>{area.about}</p>
        <p>
          <mark>Not available in this build yet.</mark> Its events will appear below as soon as it is enabled.
        </p>
        <Island name="events_feed" props={{ initial, types: area.types, timeZone: tz }} />
      </Layout>,
    );
  });
  return app;
}
