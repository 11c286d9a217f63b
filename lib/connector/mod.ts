/**
 * The Connectors & SLA capability (`hub.connectors`): the connector registry,
 * this process's WebSocket server for agents, the dispatcher that sends SLA
 * polls to them, and the SLA service that stores and analyses the tickets
 * they return. Registers the `sla.*` jobs, the minute cron that keeps every
 * organization's poll chain going, and closes the sockets and the Postgres
 * history on shutdown. Routes: routes/connectors*.ts.
 */
import { defineCapability } from "../capability.ts";
import type { CoreHub } from "../hub.ts";
import { ConnectorRegistry } from "./registry.ts";
import { ConnectorServer, type ConnectorServerOptions, type ServerLimits } from "./server.ts";
import { Dispatcher } from "./dispatch.ts";
import { connectorKinds } from "./kinds.ts";
import { type SlaHistorySink, SlaService } from "../sla/service.ts";
import { PostgresSlaSink } from "../sla/postgres_sink.ts";
import { registerSlaCron, slaJobs } from "../../jobs/sla_dispatch.ts";

export interface ConnectorsService {
  registry: ConnectorRegistry;
  server: ConnectorServer;
  dispatcher: Dispatcher;
  sla: SlaService;
  close(): Promise<void>;
}

/** Test seams. */
export interface ConnectorsOptions {
  /** Postgres schema of the SLA history (default ENRICH_PG_SCHEMA, else the search_path). */
  pgSchema?: string;
  limits?: Partial<ServerLimits>;
  /** Ceilings of refused handshakes (lib/connector/handshake_throttle.ts). */
  throttle?: ConnectorServerOptions["throttle"];
  /** BroadcastChannel for routing jobs between processes; null: this process only. */
  channel?: string | null;
}

/** Builds the service; opens the Postgres history (running its migrations) when DATABASE_URL is set. */
export async function createConnectors(hub: CoreHub, opts: ConnectorsOptions = {}): Promise<ConnectorsService> {
  const c = hub.config;
  const log = hub.log.child("connectors");
  const now = () => hub.clock.now();
  const registry = new ConnectorRegistry(hub.kv, { secrets: hub.secrets, now });
  const sink: SlaHistorySink | null = c.DATABASE_URL
    ? await PostgresSlaSink.open({ url: c.DATABASE_URL, schema: opts.pgSchema ?? c.ENRICH_PG_SCHEMA, log })
    : null;
  const sla = new SlaService({ kv: hub.kv, log: log.child("sla"), now, events: hub.events, sink });
  let dispatcher: Dispatcher | null = null;
  const server = new ConnectorServer({
    registry,
    kv: hub.kv,
    log,
    metrics: hub.metrics,
    clock: hub.clock,
    events: hub.events,
    channel: opts.channel,
    throttle: opts.throttle,
    limits: {
      heartbeatMs: c.CONNECTOR_HEARTBEAT_MS,
      maxPending: c.CONNECTOR_MAX_PENDING,
      maxFramesPerSec: c.CONNECTOR_MAX_FRAMES_PER_SEC,
      maxSocketsPerAddress: c.CONNECTOR_MAX_SOCKETS_PER_ADDRESS,
      maxHandshakesPerAddress: c.CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS,
      ...opts.limits,
    },
    hooks: {
      result: (org, connectorId, frame) => dispatcher!.result(org, connectorId, frame),
      orphaned: (org, _connectorId, jobIds) => dispatcher!.orphaned(org, jobIds),
    },
  });
  dispatcher = new Dispatcher({
    kv: hub.kv,
    queue: hub.queue,
    settings: hub.settings,
    config: c,
    registry,
    server,
    sla,
    log: log.child("dispatch"),
    now,
    events: hub.events,
  });
  let closed = false;
  return {
    registry,
    server,
    dispatcher,
    sla,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await hub.queue.idle();
      await sla.close();
    },
  };
}

export const connectors = defineCapability({
  name: "connectors",
  kinds: connectorKinds,
  async register(hub: CoreHub, options: ConnectorsOptions = {}): Promise<ConnectorsService> {
    const svc = await createConnectors(hub, options);
    for (const job of slaJobs(svc)) hub.queue.register(job);
    registerSlaCron(hub, svc);
    hub.onClose(() => svc.close());
    return svc;
  },
});
