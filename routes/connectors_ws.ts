/**
 * `GET /connectors/ws`: where agents dial in. The upgrade happens here; the
 * handshake, heartbeats, bounds and jobs are lib/connector/server.ts's. The
 * agent's address is the socket's peer, or X-Forwarded-For when that peer
 * is one of SHLYUZ_TRUSTED_PROXIES.
 */
import { Hono } from "hono";
import { getConnInfo } from "hono/deno";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";
import { HttpError } from "./errors.ts";
import { clientAddress } from "../lib/accounts/login_throttle.ts";

export function connectorSocketRoutes(hub: Hub) {
  const svc = hub.connectors;
  const app = new Hono<AppEnv>();
  app.get("/connectors/ws", (c) => {
    if ((c.req.header("upgrade") ?? "").toLowerCase() !== "websocket") {
      throw new HttpError(426, "upgrade_required", "Cannot serve /connectors/ws: it takes WebSocket connections only");
    }
    let peer: string | null = null;
    try {
      peer = getConnInfo(c).remote.address ?? null;
    } catch { /* not served by Deno.serve (app.request in tests) */ }
    const remoteAddress = peer
      ? clientAddress(peer, c.req.header("x-forwarded-for"), hub.config.SHLYUZ_TRUSTED_PROXIES)
      : null;
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    svc.server.accept(socket, { remoteAddress });
    return response;
  });
  return app;
}
