/**
 * Serves `static/` (vendored CSS, Swagger UI, bundled islands) from files
 * shipped with the code. Paths are resolved against this module, not the
 * working directory, so it works the same under `deno run` and on Deploy.
 */
import { Hono } from "hono";
import type { AppEnv } from "./app_env.ts";

const ROOT = new URL("../static/", import.meta.url);
const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  map: "application/json",
};

export function staticRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/static/*", async (c) => {
    const rel = decodeURIComponent(c.req.path.slice("/static/".length));
    if (!rel || rel.split("/").some((p) => p === ".." || p.startsWith("."))) return c.notFound();
    let body: Uint8Array;
    try {
      body = await Deno.readFile(new URL(rel, ROOT));
    } catch {
      return c.notFound();
    }
    const ext = rel.split(".").pop() ?? "";
    c.header("content-type", TYPES[ext] ?? "application/octet-stream");
    // Islands change with every build; vendored files rarely. A short cache keeps both honest.
    c.header("cache-control", rel.startsWith("vendor/") ? "public, max-age=86400" : "public, max-age=60");
    return c.body(body as Uint8Array<ArrayBuffer>);
  });
  return app;
}
