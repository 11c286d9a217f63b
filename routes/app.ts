/**
 * The HTTP application: middleware (request id, logs, metrics, body limit),
 * one error handler for the whole API, and the sub-apps of each area.
 */
import { securityHeaders } from "./middleware/security_headers.ts";
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { routePath } from "hono/route";
import type { Context } from "hono";
import type { AppEnv } from "./app_env.ts";
import { errorPageHtml } from "./pages/error_page.tsx";
import type { Hub } from "../lib/hub.ts";
import { errorBody, toHttpError } from "./errors.ts";
import { newId } from "../lib/ids.ts";
import { requestLocale } from "./pages/locale.ts";
import { type HealthCheck, healthRoutes } from "./health.ts";
import { accountRoutes } from "./accounts.ts";
import { eventRoutes } from "./events.ts";
import { deadLetterRoutes } from "./dead_letters.ts";
import { executionRoutes } from "./executions.ts";
import { overviewPages } from "./pages/overview.tsx";
import { executionPages } from "./pages/executions.tsx";
import { settingsRoutes } from "./settings.ts";
import { schedulerRoutes } from "./scheduler.ts";
import { schedulerPages } from "./pages/scheduler.tsx";
import { enrichmentRoutes } from "./enrichment.ts";
import { enrichmentPages } from "./pages/enrichment.tsx";
import { docsRoutes } from "./docs.ts";
import { serveOpenApi } from "./openapi.ts";
import { staticRoutes } from "./static.ts";
import { authPages } from "./pages/auth_pages.tsx";
import { adminPages } from "./pages/admin_pages.tsx";
import { settingsPages } from "./pages/settings_page.tsx";
import { onecLegacyRoutes, onecRoutes } from "./onec.ts";
import { onecPages } from "./pages/onec.tsx";
import { notifyRoutes } from "./notify.ts";
import { notifyPages } from "./pages/notify.tsx";
import { telegramWebhookRoutes } from "./notify_webhook.ts";
import { connectorRoutes } from "./connectors.ts";
import { connectorSocketRoutes } from "./connectors_ws.ts";
import { slaRoutes } from "./connectors_sla.ts";
import { connectorPages } from "./pages/connectors.tsx";

/** Builds the whole app for a hub. `checks` add capability health to /healthz. */
export function createApp(hub: Hub, { checks = {} }: { checks?: Record<string, HealthCheck> } = {}) {
  // strict: false — "/admin/" and "/admin" are the same page, as people and proxies expect.
  const app = new OpenAPIHono<AppEnv>({ strict: false });
  const log = hub.log.child("http");

  app.use("*", securityHeaders(hub.config.PUBLIC_URL));
  app.use("*", async (c, next) => {
    const requestId = c.req.header("x-request-id")?.slice(0, 100) || newId();
    c.set("hub", hub);
    c.set("requestId", requestId);
    c.set("log", log);
    c.header("x-request-id", requestId);
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routePath(c) ?? "unmatched";
    hub.metrics.inc("shlyuz_http_requests_total", { method: c.req.method, route, status: String(c.res.status) });
    hub.metrics.observe("shlyuz_http_request_seconds", seconds, { route });
    if (c.res.status >= 500 || hub.config.SHLYUZ_LOG_LEVEL === "debug") {
      log.info("request", {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 1000),
      });
    }
  });

  // 1C sends attached files as base64 inside the JSON body, so its two intake
  // paths get their own, larger limit; everything else keeps SHLYUZ_BODY_LIMIT.
  const limitOf = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) => c.json(errorBody("payload_too_large", `Request body is larger than ${maxSize} bytes`), 413),
    });
  const defaultLimit = limitOf(hub.config.SHLYUZ_BODY_LIMIT);
  const intakeLimit = limitOf(hub.config.SHLYUZ_ONEC_BODY_LIMIT);
  app.use(
    "*",
    (c, next) =>
      c.req.method === "POST" && (c.req.path === "/" || c.req.path === "/api/v1/onec/tasks")
        ? intakeLimit(c, next)
        : defaultLimit(c, next),
  );

  /** Browsers opening admin pages get an HTML error page; programs get the JSON error shape. */
  const wantsPage = (c: Context<AppEnv>) =>
    c.req.path.startsWith("/admin") && c.req.method === "GET" && (c.req.header("accept") ?? "").includes("text/html");
  const pageLocale = (c: Context<AppEnv>) => c.var.page?.locale ?? requestLocale(c);
  const respond = (c: Context<AppEnv>, status: number, code: string, message: string, details?: unknown) =>
    wantsPage(c)
      ? c.html(
        errorPageHtml(status, message, status >= 500 ? c.var.requestId : undefined, pageLocale(c)),
        status as 400,
      )
      : c.json(errorBody(code, message, details), status as 400);

  app.onError((err, c) => {
    const http = toHttpError(err);
    if (http) {
      if (http.status >= 500) log.error("request failed", { requestId: c.var.requestId, error: err });
      return respond(c, http.status, http.code, http.message, http.details);
    }
    log.error("unhandled error", { requestId: c.var.requestId, path: c.req.path, error: err, stack: err.stack });
    return respond(c, 500, "internal", `Internal error (request id ${c.var.requestId})`);
  });

  app.notFound((c) => respond(c, 404, "not_found", `Cannot find ${c.req.method} ${c.req.path}`));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An organization API token (shz_…) or, from the admin panel, the session cookie",
  });

  if (!checks.enrichment) checks = { ...checks, enrichment: () => hub.enrichment.status() };
  app.route("/", healthRoutes(hub, checks));
  app.route("/", staticRoutes());
  app.route("/", docsRoutes());
  app.route("/api/v1", accountRoutes(hub));
  app.route("/api/v1", eventRoutes(hub));
  app.route("/api/v1", deadLetterRoutes(hub));
  app.route("/api/v1", executionRoutes(hub));
  app.route("/api/v1", settingsRoutes(hub));
  app.route("/api/v1", schedulerRoutes(hub));
  app.route("/", onecLegacyRoutes(hub));
  app.route("/api/v1", onecRoutes(hub));
  app.route("/api/v1", enrichmentRoutes(hub));
  app.route("/api/v1", notifyRoutes(hub));
  app.route("/", telegramWebhookRoutes(hub));
  app.route("/", connectorSocketRoutes(hub));
  app.route("/api/v1", connectorRoutes(hub));
  app.route("/api/v1", slaRoutes(hub));

  app.route("/admin", authPages(hub));
  app.route("/admin", overviewPages(hub));
  app.route("/admin", adminPages(hub));
  app.route("/admin/executions", executionPages(hub));
  app.route("/admin/scheduler", schedulerPages(hub));
  app.route("/admin/onec", onecPages(hub));
  app.route("/admin/enrichment", enrichmentPages(hub));
  app.route("/admin/settings", settingsPages(hub));
  app.route("/admin/connectors", connectorPages(hub));
  app.route("/admin/notifications", notifyPages(hub));

  app.get("/", (c) => c.redirect("/admin", 302));

  serveOpenApi(app, {
    title: "Shlyuz API",
    version: "1.0.0",
    description: "Integration hub: scheduler, 1C → Bitrix24 intake, enrichment, connectors & SLA, notifications.",
  });
  return app;
}
