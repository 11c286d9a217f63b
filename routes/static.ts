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

/** What the build names static files: no leading dot, no `%`, `\\` or control characters. */
const SEGMENT = /^[\w][\w.@-]*$/;

/**
 * The file under static/ a request path names, or null. Every segment must be
 * a plain name after decoding, and the result must stay inside static/: URL
 * resolution would otherwise turn a doubly encoded `%2e%2e` into `..`.
 */
export function staticFile(path: string): URL | null {
  let rel: string;
  try {
    rel = decodeURIComponent(path);
  } catch {
    return null; // malformed percent-encoding
  }
  if (!rel || !rel.split("/").every((seg) => SEGMENT.test(seg))) return null;
  const url = new URL(rel, ROOT);
  return url.href.startsWith(ROOT.href) ? url : null;
}

export function staticRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/static/*", async (c) => {
    const file = staticFile(c.req.path.slice("/static/".length));
    if (!file) return c.notFound();
    const rel = file.href.slice(ROOT.href.length);
    let body: Uint8Array;
    try {
      body = await Deno.readFile(file);
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
