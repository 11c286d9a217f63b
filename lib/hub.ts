/**
 * The services every part of Shlyuz shares, built once from the config
 * (`createHub` → `CoreHub`). Capabilities (lib/capabilities.ts) then register
 * on it and add their services, which makes it a `Hub`: `main.ts` and the
 * tests build it the same way and name no capability.
 */
import type { Config } from "./config.ts";
import { type Clock, systemClock } from "./clock.ts";
import { SecretBox } from "./crypto/secret_box.ts";
import { EventBus } from "./events/bus.ts";
import type { FetchFn } from "./http/request.ts";
import { instrumentedFetch } from "./http/instrumented_fetch.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { Queue } from "./queue/queue.ts";
import { SettingsStore } from "./settings.ts";
import type { AppKinds, CapabilityServices } from "./capabilities.ts";

/** The shared services, before capabilities register (what `register(hub)` receives). */
export interface CoreHub {
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
  /** Registers a Deno.cron unless crons are disabled; stopped on close. */
  cron(name: string, schedule: string, fn: () => Promise<void>): void;
  /** Runs `fn` in `start()`, once the queue listener is up (recovery, connecting bridges, a first tick). */
  onStart(fn: () => Promise<void> | void): void;
  /**
   * Runs the start hooks in registration order; a failing hook is logged, not thrown, so one
   * capability's broker being down does not keep the others from starting.
   */
  start(): Promise<void>;
  /** Runs `fn` on close (capabilities release pools, sockets, timers). */
  onClose(fn: () => Promise<void> | void): void;
  /** Aborted when shutdown begins: long-lived work (SSE streams) ends so the server can drain. */
  shutdownSignal: AbortSignal;
  /** Ends long-lived streams; call before `server.shutdown()`. `close()` calls it too. */
  beginShutdown(): void;
  close(): Promise<void>;
}

/**
 * The hub with every capability registered: `hub.<name>` for each capability in
 * lib/capabilities.ts, and a queue typed by all their message kinds.
 */
export type Hub = Omit<CoreHub, "queue"> & { queue: Queue<AppKinds> } & CapabilityServices;

export interface HubDeps {
  kv: Deno.Kv;
  secretKey: string;
  log?: Logger;
  clock?: Clock;
  fetch?: FetchFn;
}

/** Builds the shared services. Does not start listeners or crons by itself. */
export async function createHub(config: Config, deps: HubDeps): Promise<CoreHub> {
  const log = deps.log ?? createLogger({ level: config.SHLYUZ_LOG_LEVEL });
  const metrics = new Metrics();
  const clock = deps.clock ?? systemClock;
  const kv = deps.kv;
  const secrets = await SecretBox.fromBase64(deps.secretKey);
  const events = new EventBus(kv, {
    log: log.child("events"),
    metrics,
    retentionMs: config.SHLYUZ_EVENT_RETENTION_HOURS * 3600_000,
    heartbeatMs: config.SHLYUZ_SSE_HEARTBEAT_MS,
    strict: config.SHLYUZ_EVENTS_STRICT,
    now: () => clock.now(),
  });
  const queue = new Queue(kv, {
    log: log.child("queue"),
    metrics,
    backoffMs: config.SHLYUZ_QUEUE_BACKOFF_MS,
    now: () => clock.now(),
    events,
  });
  const closers: Array<() => Promise<void> | void> = [];
  const starters: Array<() => Promise<void> | void> = [];
  const cronAbort = new AbortController();
  const cronNames = new Set<string>();
  let closed = false;

  const hub: CoreHub = {
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
    onStart(fn) {
      starters.push(fn);
    },
    async start() {
      for (const fn of starters.splice(0)) {
        try {
          await fn();
        } catch (error) {
          log.error("start hook failed", { error });
        }
      }
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
  metrics.gauge("shlyuz_queue_in_flight", () => queue.inFlight, "Queue handlers running in this process");
  metrics.gauge(
    "shlyuz_queue_backlog",
    () => queue.backlog(),
    "Queue messages enqueued and not yet settled (approximate)",
  );
  metrics.gauge("shlyuz_sse_subscribers", () => events.subscriberCount, "Open event subscriptions in this process");
  return hub;
}
