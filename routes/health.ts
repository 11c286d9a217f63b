/** Health and metrics: `/ping/` (the seeds' check), `/healthz`, `/metrics`. */
import { Hono } from "hono";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";

/** A named check a capability contributes to /healthz (e.g. the RabbitMQ bridge). */
/** A check returns at least `ok`; anything else it returns is shown as is. */
export type HealthCheck = () => Promise<{ ok: boolean }> | { ok: boolean };

export function healthRoutes(hub: Hub, checks: Record<string, HealthCheck> = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/ping/", (c) => c.json({ message: "pong" }));
  app.get("/ping", (c) => c.json({ message: "pong" }));

  app.get("/healthz", async (c) => {
    const started = performance.now();
    let kvOk = true;
    let kvError: string | undefined;
    try {
      await hub.kv.get(["health"]);
    } catch (error) {
      kvOk = false;
      kvError = error instanceof Error ? error.message : String(error);
    }
    const out: Record<string, unknown> = {
      kv: { ok: kvOk, ms: Math.round((performance.now() - started) * 10) / 10, error: kvError },
    };
    let ok = kvOk;
    if (kvOk) {
      out.queue = { ok: true, backlog: await hub.queue.backlog(), inFlight: hub.queue.inFlight };
    }
    for (const [name, check] of Object.entries(checks)) {
      try {
        const r = await check();
        out[name] = r;
        ok &&= r.ok;
      } catch (error) {
        out[name] = { ok: false, error: error instanceof Error ? error.message : String(error) };
        ok = false;
      }
    }
    return c.json({ status: ok ? "ok" : "degraded", ...out }, ok ? 200 : 503);
  });

  app.get("/metrics", async (c) => {
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(await hub.metrics.render());
  });
  return app;
}
