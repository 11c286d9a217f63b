/**
 * Headers that matter once the panel is on the internet: no framing (the
 * panel's Delete/Revoke buttons must not be clickjacked), no MIME sniffing,
 * no full URLs (setup links, ids) in the Referer sent to other sites, and
 * HSTS when the hub is served over https. The CSP says only
 * `frame-ancestors 'none'`: scripts and styles stay as they are, so /docs
 * (Swagger UI) and the islands keep working.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_env.ts";

export function securityHeaders(publicUrl: string | undefined): MiddlewareHandler<AppEnv> {
  const https = publicUrl?.startsWith("https://") ?? false;
  const set = (headers: Headers) => {
    headers.set("content-security-policy", "frame-ancestors 'none'");
    headers.set("x-frame-options", "DENY");
    headers.set("x-content-type-options", "nosniff");
    headers.set("referrer-policy", "same-origin");
    if (https) headers.set("strict-transport-security", "max-age=31536000; includeSubDomains");
  };
  return async (c, next) => {
    await next();
    // On the response's own headers: `c.header()` after the response exists copies the whole
    // Response on every call (five copies per request, ~15 % of a /ping/). A response with
    // immutable headers (one passed through from fetch) is copied once.
    try {
      set(c.res.headers);
    } catch {
      c.res = new Response(c.res.body, c.res);
      set(c.res.headers);
    }
  };
}
