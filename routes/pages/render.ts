/** Server-side rendering of admin pages with Preact. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** Renders a page component to an HTML response. */
export function render(c: Context, vnode: VNode, status: ContentfulStatusCode = 200): Response {
  c.header("cache-control", "no-store");
  return c.html(`<!doctype html>${renderToString(vnode)}`, status);
}
