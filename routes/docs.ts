/** `/docs`: Swagger UI served from the hub's own static files, so it works offline. */
import { Hono } from "hono";
import type { AppEnv } from "./app_env.ts";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shlyuz API</title><link rel="stylesheet" href="/static/vendor/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/static/vendor/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui", deepLinking: true });</script>
</body></html>`;

export function docsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/docs", (c) => c.html(PAGE));
  return app;
}
