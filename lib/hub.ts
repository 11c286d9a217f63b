/**
 * The services every part of Shlyuz shares, built once from the config.
 * `main.ts` and the tests build the hub the same way; capabilities add their
 * services in `createHub` and their handlers in `jobs/mod.ts`.
 */
import type { Config } from "./config.ts";
import { type Clock, systemClock } from "./clock.ts";
import { SecretBox } from "./crypto/secret_box.ts";
import { EventBus } from "./events.ts";
import type { FetchFn } from "./http/request.ts";
import { instrumentedFetch } from "./http/instrumented_fetch.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { Queue } from "./queue/queue.ts";
import { SettingsStore } from "./settings.ts";
import { Scheduler } from "./scheduler/service.ts";
import { OnecService } from "./onec/service.ts";
import { createEnrichment, type EnrichmentService } from "./enrichment/mod.ts";
import { listOrgs } from "./accounts/store.ts";
import { type NotifyService, register as registerNotify } from "./notify/mod.ts";

export interface Hub {
  config: Config;
  kv: Deno.Kv;
  log: Logger;
  metrics: Metrics;
  queue: Queue;
  events: EventBus;
  secrets: SecretBox;
  settings: SettingsStore;
  clock: Clock;
  /** The fetch every external client uses (tests swap it or point base URLs at fakes). */
  fetch: FetchFn;
  /** 1C → Bitrix24 intake (lib/onec). */
  onec?: OnecService;
  /** Registers a Deno.cron unless crons are disabled; stopped on close. */
  cron(name: string, schedule: string, fn: () => Promise<void>): void;
  /** Runs `fn` on close (capabilities release pools, sockets, timers). */
  onClose(fn: () => Promise<void> | void): void;
  /** Aborted when shutdown begins: long-lived work (SSE streams) ends so the server can drain. */
  shutdownSignal: AbortSignal;
  /** Ends long-lived streams; call before `server.shutdown()`. `close()` calls it too. */
  beginShutdown(): void;
  close(): Promise<void>;
  /** Cron schedules with HTTP and internal actions (lib/scheduler). */
  scheduler?: Scheduler;
  /** Enrichment (DaData/YandexGPT tasks, sinks, RabbitMQ bridge); `status()` feeds /healthz. */
  enrichment?: EnrichmentService;
  /** Notifications: Telegram bots, groups and contacts, rules, deliveries, mailboxes (lib/notify). */
  notify?: NotifyService;
}

export interface HubDeps {
  kv: Deno.Kv;
  secretKey: string;
  log?: Logger;
  clock?: Clock;
  fetch?: FetchFn;
}

/** Builds the shared services. Does not start listeners or crons by itself. */
export async function createHub(config: Config, deps: HubDeps): Promise<Hub> {
  const log = deps.log ?? createLogger({ level: config.SHLYUZ_LOG_LEVEL });
  const metrics = new Metrics();
  const clock = deps.clock ?? systemClock;
  const kv = deps.kv;
  const secrets = await SecretBox.fromBase64(deps.secretKey);
  const queue = new Queue(kv, {
    log: log.child("queue"),
    metrics,
    backoffMs: config.SHLYUZ_QUEUE_BACKOFF_MS,
    now: () => clock.now(),
  });
  const events = new EventBus(kv, {
    log: log.child("events"),
    retentionMs: config.SHLYUZ_EVENT_RETENTION_HOURS * 3600_000,
    now: () => clock.now(),
  });
  const closers: Array<() => Promise<void> | void> = [];
  const cronAbort = new AbortController();
  const cronNames = new Set<string>();
  let closed = false;

  const hub: Hub = {
    config,
    kv,
    log,
    metrics,
    queue,
    events,
    secrets,
    settings: new SettingsStore(kv, secrets),
    clock,
    fetch: instrumentedFetch(deps.fetch ?? globalThis.fetch, metrics),
    cron(name, schedule, fn) {
      // Deno.cron names allow only letters, digits, spaces, hyphens and underscores.
      const cronName = name.replace(/[^\w\s-]/g, "_");
      if (config.SHLYUZ_DISABLE_CRON || cronNames.has(cronName)) return;
      cronNames.add(cronName);
      Deno.cron(cronName, schedule, { signal: cronAbort.signal }, async () => {
        try {
          await fn();
        } catch (error) {
          log.error("cron failed", { cron: name, error });
        }
      });
    },
    onClose(fn) {
      closers.push(fn);
    },
    shutdownSignal: cronAbort.signal,
    beginShutdown() {
      cronAbort.abort();
    },
    async close() {
      if (closed) return;
      closed = true;
      cronAbort.abort();
      // Stop taking queue deliveries first, so no handler starts on a resource a
      // close hook is about to release (a Postgres pool, the RabbitMQ channel).
      await queue.stop();
      for (const fn of closers.reverse()) {
        try {
          await fn();
        } catch (error) {
          log.error("close hook failed", { error });
        }
      }
      events.close();
      kv.close();
    },
  };
  hub.scheduler = new Scheduler(hub);
  hub.onec = new OnecService({ ...hub, log: log.child("onec") });
  hub.enrichment = await createEnrichment(hub, { defaultOrg: async () => (await listOrgs(kv))[0]?.id ?? "default" });
  registerNotify(hub);
  metrics.gauge("shlyuz_queue_in_flight", () => queue.inFlight, "Queue handlers running in this process");
  metrics.gauge(
    "shlyuz_queue_backlog",
    () => queue.backlog(),
    "Queue messages enqueued and not yet settled (approximate)",
  );
  metrics.gauge("shlyuz_sse_subscribers", () => events.subscriberCount, "Open event subscriptions in this process");
  return hub;
}
