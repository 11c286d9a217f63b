/**
 * The Connectors & SLA capability: the connector registry, this process's
 * WebSocket server for agents, the dispatcher that sends SLA polls to them,
 * and the SLA service that stores and analyses the tickets they return.
 * Built once per hub (`hub.connectors`); its queue kinds and cron are
 * registered by jobs/sla_dispatch.ts, its routes by routes/connectors*.ts.
 */
import type { Hub } from "../hub.ts";
import { ConnectorRegistry } from "./registry.ts";
import { ConnectorServer, type ServerLimits } from "./server.ts";
import { Dispatcher } from "./dispatch.ts";
import { type SlaHistorySink, SlaService } from "../sla/service.ts";
import { PostgresSlaSink } from "../sla/postgres_sink.ts";

export { CLOSE } from "./protocol.ts";

export interface ConnectorsService {
  registry: ConnectorRegistry;
  server: ConnectorServer;
  dispatcher: Dispatcher;
  sla: SlaService;
  close(): Promise<void>;
}

export type ConnectorsHub = Pick<
  Hub,
  "config" | "kv" | "log" | "metrics" | "queue" | "events" | "settings" | "clock" | "secrets" | "onClose"
>;

export interface ConnectorsOptions {
  /** Postgres schema of the SLA history (tests use their own). */
  pgSchema?: string;
  limits?: Partial<ServerLimits>;
  /** BroadcastChannel for routing jobs between processes; null: this process only. */
  channel?: string | null;
}

/** Builds the capability; opens the Postgres history (running its migrations) when DATABASE_URL is set. */
export async function createConnectors(hub: ConnectorsHub, opts: ConnectorsOptions = {}): Promise<ConnectorsService> {
  const c = hub.config;
  const log = hub.log.child("connectors");
  const now = () => hub.clock.now();
  const publish = (org: string, type: string, data: Record<string, unknown>) => hub.events.publish(org, type, data);
  const registry = new ConnectorRegistry(hub.kv, { secrets: hub.secrets, now });
  const sink: SlaHistorySink | null = c.DATABASE_URL
    ? await PostgresSlaSink.open({ url: c.DATABASE_URL, schema: opts.pgSchema ?? c.ENRICH_PG_SCHEMA, log })
    : null;
  const sla = new SlaService({ kv: hub.kv, log: log.child("sla"), now, publish, sink });
  let dispatcher: Dispatcher | null = null;
  const server = new ConnectorServer({
    registry,
    kv: hub.kv,
    log,
    metrics: hub.metrics,
    clock: hub.clock,
    channel: opts.channel,
    limits: {
      heartbeatMs: c.CONNECTOR_HEARTBEAT_MS,
      maxPending: c.CONNECTOR_MAX_PENDING,
      maxFramesPerSec: c.CONNECTOR_MAX_FRAMES_PER_SEC,
      ...opts.limits,
    },
    hooks: {
      publish,
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
    publish,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await hub.queue.idle();
    await sla.close();
  };
  hub.onClose(close);
  return { registry, server, dispatcher, sla, close };
}
