/** Health and metrics: `/ping/` (the seeds' check), `/healthz`, `/metrics`. */
import { Hono } from "hono";
import { getConnInfo } from "hono/deno";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";
import { sha256Hex } from "../lib/ids.ts";
import { errorBody } from "./errors.ts";

/** Compares two secrets by their hashes, so the time taken says nothing about the expected value. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  return (await sha256Hex(given)) === (await sha256Hex(expected));
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}

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

  // Metrics name every organization's activity: with SHLYUZ_METRICS_TOKEN set they need that Bearer
  // token; without it only a scraper on the same machine (a loopback peer) may read them.
  app.get("/metrics", async (c) => {
    const expected = hub.config.SHLYUZ_METRICS_TOKEN;
    if (expected) {
      const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
      if (!(await sameSecret(given, expected))) {
        return c.json(
          errorBody("unauthorized", "GET /metrics needs Authorization: Bearer <SHLYUZ_METRICS_TOKEN>"),
          401,
        );
      }
    } else if (!isLoopback(getConnInfo(c).remote.address)) {
      return c.json(
        errorBody(
          "forbidden",
          "GET /metrics answers loopback peers only; set SHLYUZ_METRICS_TOKEN to scrape it remotely",
        ),
        403,
      );
    }
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(await hub.metrics.render());
  });
  return app;
}
