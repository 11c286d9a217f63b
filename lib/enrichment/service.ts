/**
 * The enrichment service: the processor with its sink, the clients per
 * organization, the RabbitMQ bridge when AMQP_URL is set, and `status()` for
 * the page and `/healthz`. Built once by the capability (mod.ts) as `hub.enrichment`.
 */
import type { Config } from "../config.ts";
import type { CoreHub } from "../hub.ts";
import type { QueueFor } from "../queue/queue.ts";
import type { EnrichmentKinds } from "./kinds.ts";
import { AmqpBridge, type BridgeStatus } from "./amqp_bridge.ts";
import { leaseMsFor, OrgClients, SECTIONS, webhookSettingsSchema } from "./org_clients.ts";
import { type Enrich, Processor } from "./processor.ts";
import type { Deliveries } from "./processor_types.ts";
import { KvSink } from "./sinks/kv_sink.ts";
import { PostgresSink } from "./sinks/postgres_sink.ts";
import type { RowSink } from "./sinks/types.ts";

export interface EnrichmentStatus {
  sink: "kv" | "postgres";
  amqp: BridgeStatus | { state: "disabled" };
}

export interface EnrichmentService {
  processor: Processor;
  sink: RowSink;
  clients: OrgClients;
  bridge: AmqpBridge | null;
  /** For `/healthz` and the page; `ok` is false while an enabled bridge is not connected. */
  status(): EnrichmentStatus & { ok: boolean };
  /** Writes one settings section (`dadata`, `yandexgpt`, `enrichment`), sealing its secrets. */
  writeSettings(org: string, section: keyof typeof SECTIONS, value: Record<string, unknown>): Promise<void>;
  /** The organization whose results go to RabbitMQ. */
  bridgeOrg(): Promise<string>;
  /** The organization's webhook, or null when none is set. */
  webhook(org: string): Promise<{ url: string; secret: string } | null>;
  /** Starts the bridge (after the queue listener is up). */
  start(): Promise<void>;
}

export type EnrichmentHub =
  & Pick<CoreHub, "config" | "kv" | "log" | "metrics" | "events" | "settings" | "clock" | "fetch" | "onClose">
  & { queue: QueueFor<EnrichmentKinds> };

export interface EnrichmentOptions {
  /** Replace the upstream call (tests, benchmarks of the queue itself). */
  enrich?: Enrich;
  /** Postgres schema (tests use their own). */
  pgSchema?: string;
  /** The organization RabbitMQ tasks belong to when AMQP_ORG is unset. */
  defaultOrg?: () => string | Promise<string>;
  retryBaseMs?: number;
  roundDelaysMs?: number[];
}

/** Builds the service: opens the Postgres sink (running migrations) when DATABASE_URL is set. */
export async function createEnrichment(hub: EnrichmentHub, opts: EnrichmentOptions = {}): Promise<EnrichmentService> {
  const c: Config = hub.config;
  const log = hub.log.child("enrichment");
  const sink: RowSink = c.DATABASE_URL
    ? await PostgresSink.open({ url: c.DATABASE_URL, schema: opts.pgSchema ?? c.ENRICH_PG_SCHEMA, log })
    : new KvSink(hub.kv, { now: () => hub.clock.now() });
  const clients = new OrgClients({
    settings: hub.settings,
    config: c,
    fetch: hub.fetch,
    clock: hub.clock,
    retryBaseMs: opts.retryBaseMs,
  });
  const org = () => c.AMQP_ORG ?? opts.defaultOrg?.() ?? "default";
  const webhook = async (o: string) => {
    const w = await hub.settings.get(o, "enrichment", webhookSettingsSchema, {});
    return w.webhookUrl && w.webhookSecret ? { url: w.webhookUrl, secret: w.webhookSecret } : null;
  };
  const processor = new Processor({
    kv: hub.kv,
    sink,
    queue: hub.queue,
    events: hub.events,
    log,
    metrics: hub.metrics,
    clock: hub.clock,
    enrich: opts.enrich ?? clients.enrich,
    leaseMs: leaseMsFor(c, opts.retryBaseMs),
    concurrency: c.ENRICH_CONCURRENCY,
    // One retry policy: the clients' brief retries inside the claim, then the queue's backoff.
    roundDelaysMs: opts.roundDelaysMs ?? c.SHLYUZ_QUEUE_BACKOFF_MS,
    deliveries: async (o): Promise<Deliveries> => ({
      amqp: c.AMQP_URL !== undefined && o === await org(),
      webhook: (await webhook(o)) !== null,
    }),
  });
  const startedAt = hub.clock.now();
  const bridge = c.AMQP_URL
    ? new AmqpBridge({
      url: c.AMQP_URL,
      taskQueue: c.AMQP_TASK_QUEUE,
      resultQueue: c.AMQP_RESULT_QUEUE,
      org,
      submit: (o, tasks) => processor.submit(o, tasks, "amqp"),
      deadLetter: (o, raw, reason) => processor.deadLetterInvalid(o, raw, reason, "amqp"),
      log: log.child("amqp"),
    })
    : null;
  hub.onClose(async () => {
    await bridge?.close();
    await hub.queue.idle(); // handlers still running may write rows
    await sink.close();
  });
  return {
    processor,
    sink,
    clients,
    bridge,
    status() {
      const amqp = bridge ? bridge.status() : { state: "disabled" as const };
      return { ok: amqp.state === "disabled" || amqp.state === "connected", sink: sink.name, amqp };
    },
    async writeSettings(o, section, value) {
      await hub.settings.write(o, section, value, SECTIONS[section].secrets);
      clients.invalidate(o);
    },
    async bridgeOrg() {
      return await org();
    },
    webhook,
    async start() {
      // File-backed KV only (the default ./data path included): on Deno Deploy other
      // isolates' in-flight messages are not orphans, and :memory: has no past.
      if (!c.DENO_DEPLOYMENT_ID && c.SHLYUZ_KV_PATH !== ":memory:") await processor.recoverInbox(startedAt);
      await bridge?.start();
    },
  };
}
