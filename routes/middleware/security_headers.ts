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
  return async (c, next) => {
    await next();
    c.header("content-security-policy", "frame-ancestors 'none'");
    c.header("x-frame-options", "DENY");
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
    if (https) c.header("strict-transport-security", "max-age=31536000; includeSubDomains");
  };
}
