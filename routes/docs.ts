/** `/docs`: Swagger UI served from the hub's own static files, so it works offline. */
import { Hono } from "hono";
import type { AppEnv } from "./app_env.ts";
import { sessionOf } from "./middleware/auth.ts";
import { getUser } from "../lib/accounts/store.ts";
import { DocsPage } from "./pages/docs_page.tsx";
import { render } from "./pages/render.ts";
import { requestLocale } from "./pages/locale.ts";
import { uiPreferences } from "../lib/ui/preferences.ts";

export function docsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // The page carries the session's CSRF token, so it is rendered per request and never cached (render sets no-store).
  app.get("/docs", async (c) => {
    const session = await sessionOf(c);
    const user = session ? await getUser(c.var.hub.kv, session.userId) : null;
    const locale = (user ? (await uiPreferences(c.var.hub.kv, user.id)).locale : undefined) ?? requestLocale(c);
    return render(c, DocsPage({ locale, csrf: user ? session?.csrf : undefined, email: user?.email }));
  });
  return app;
}
