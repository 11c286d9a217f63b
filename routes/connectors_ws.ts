/**
 * `GET /connectors/ws`: where agents dial in. The upgrade happens here; the
 * handshake, heartbeats, bounds and jobs are lib/connector/server.ts's. The
 * agent's address is the socket's peer, or X-Forwarded-For when that peer
 * is one of SHLYUZ_TRUSTED_PROXIES. An address over its socket caps is
 * answered 429 before the upgrade, so it costs no WebSocket at all.
 */
import { Hono } from "hono";
import { getConnInfo } from "hono/deno";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";
import { HttpError, httpErrors } from "./errors.ts";
import { clientAddress } from "../lib/accounts/login_throttle.ts";
import { CLOSE } from "../lib/connector/protocol.ts";

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
    // Checked and accepted in one synchronous turn: no other socket of the address can slip in between.
    const refusal = svc.server.refusalFor(remoteAddress);
    if (refusal) {
      const { maxSocketsPerAddress, maxHandshakesPerAddress } = svc.server.limits;
      throw httpErrors.tooMany(
        refusal === CLOSE.addressSockets
          ? `Cannot open a connector socket: this address already has ${maxSocketsPerAddress} open (CONNECTOR_MAX_SOCKETS_PER_ADDRESS)`
          : `Cannot open a connector socket: this address already has ${maxHandshakesPerAddress} in their handshake (CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS)`,
      );
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    svc.server.accept(socket, { remoteAddress });
    return response;
  });
  return app;
}
