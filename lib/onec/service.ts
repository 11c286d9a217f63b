/**
 * The 1C → Bitrix24 capability as one service on the hub: it owns what the
 * whole process shares (a rate limiter per portal, in-flight cache loads,
 * the choose-and-create locks) and builds the per-request pieces.
 */
import { BitrixClient, parseWebhookUrl } from "../bitrix/client.ts";
import { countOpenTasks } from "../bitrix/methods.ts";
import { RateLimiterRegistry } from "../bitrix/rate_limiter.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { orgAddressPolicy } from "../general_settings.ts";
import type { FetchFn } from "../http/request.ts";
import { OPERATOR_POLICY, type Resolver } from "../http/url_guard.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { SettingsStore } from "../settings.ts";
import { BitrixCache, type CacheInfo } from "./cache.ts";
import { Directory } from "./directory.ts";
import { type IntakeResult, runIntake } from "./intake.ts";
import { normalizeName } from "./matching.ts";
import type { OnecRequest } from "./request_schema.ts";
import { loadOnecSettings, type OnecSettings } from "./settings.ts";
import { appendLog, type LogEntry, readLog } from "./store.ts";
import { type Availability, availability } from "./workdays.ts";
import { labelledFetch } from "../http/instrumented_fetch.ts";
import type { EventPublisher } from "../events/types.ts";
import { ConflictError } from "../errors.ts";

export interface OnecServiceDeps {
  kv: Deno.Kv;
  clock: Clock;
  log: Logger;
  fetch: FetchFn;
  config: Config;
  settings: SettingsStore;
  events: EventPublisher;
  metrics?: { inc(name: string, labels?: Record<string, string>, by?: number): void };
  /** DNS resolver for the address policy on the organization's webhook (tests). */
  resolve?: Resolver;
}

/** Why nothing reaches Bitrix24 for an organization without its own webhook. */
export const NOT_CONFIGURED_MESSAGE =
  "Bitrix24 is not configured for this organization: set its inbound webhook on the 1C → Bitrix24 page";

/**
 * Thrown when the organization has no webhook configured: a conflict with its
 * settings (409 `not_configured` through the API), not a failure of the hub.
 */
export class NotConfiguredError extends ConflictError {
  override name = "NotConfiguredError";
  constructor() {
    super(NOT_CONFIGURED_MESSAGE, { code: "not_configured" });
  }
}

export interface LoadBoardSection {
  id: number;
  name: string;
  people: Array<{ id: number; name: string; openTasks: number; availability: Availability; why: string }>;
}

export class OnecService {
  readonly #d: OnecServiceDeps;
  readonly limiters: RateLimiterRegistry;
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: OnecServiceDeps) {
    this.#d = deps;
    this.limiters = new RateLimiterRegistry(deps.clock);
  }

  settings(org: string): Promise<OnecSettings> {
    return loadOnecSettings(this.#d.settings, org, { config: this.#d.config, kv: this.#d.kv });
  }

  /**
   * A client for the organization's portal, sharing the portal's limiter.
   * The organization's own webhook follows its outgoing-address policy, which
   * the guarded fetch checks (after DNS) on every request and redirect hop;
   * BITRIX_WEBHOOK is the operator's.
   */
  async client(
    settings: OnecSettings,
    { org, deadline, onRequest }: { org: string; deadline?: number; onRequest?: (m: string) => void },
  ): Promise<BitrixClient> {
    if (!settings.webhookUrl) throw new NotConfiguredError();
    const policy = settings.webhookUrl === this.#d.config.BITRIX_WEBHOOK ? OPERATOR_POLICY : {
      ...await orgAddressPolicy(this.#d, org, { resolve: this.#d.resolve }),
      refusedAs: "Refused the organization's inbound webhook (webhookUrl) for Bitrix24",
    };
    const { portal } = parseWebhookUrl(settings.webhookUrl);
    return new BitrixClient({
      baseUrl: settings.webhookUrl,
      policy,
      fetch: labelledFetch(this.#d.fetch, { org, service: "bitrix24" }),
      clock: this.#d.clock,
      log: this.#d.log.child("bitrix"),
      deadline,
      limiter: this.limiters.for(portal, { ratePerSec: settings.ratePerSec, burst: settings.burst }),
      onRequest: (m) => {
        this.#d.metrics?.inc("shlyuz_bitrix_requests_total", { method: m });
        onRequest?.(m);
      },
    });
  }

  directory(org: string, settings: OnecSettings, client: BitrixClient): Directory {
    return new Directory({
      client,
      cache: this.cache(org),
      settings,
      now: () => this.#d.clock.now(),
      log: this.#d.log.child("onec"),
    });
  }

  cache(org: string): BitrixCache {
    return new BitrixCache(this.#d.kv, org, { clock: this.#d.clock, inflight: this.#inflight });
  }

  /** Handles one 1C request and writes the intake log entry. */
  async intake(
    org: string,
    req: OnecRequest,
    { requestId = newId() }: { requestId?: string } = {},
  ): Promise<IntakeResult & { log: LogEntry }> {
    const started = this.#d.clock.now();
    const settings = await this.settings(org);
    let calls = 0;
    const deadline = started + settings.budgetMs;
    const log = this.#d.log.child("onec");
    let result: IntakeResult;
    try {
      const client = await this.client(settings, { org, deadline, onRequest: () => calls++ });
      result = await runIntake({
        org,
        requestId,
        kv: this.#d.kv,
        clock: this.#d.clock,
        log,
        dir: this.directory(org, settings, client),
        settings,
        deadline,
        publish: (type, data) => this.#d.events.publish(org, type, data),
        exclusive: (key, fn) => this.#exclusive(key, fn),
      }, req);
    } catch (error) {
      // Only configuration problems get here; task-level errors are inside the result.
      const message = error instanceof Error ? error.message : String(error);
      result = {
        outcome: "failed",
        tasks: req.tasks.map((t) => ({
          onecId: t.id,
          title: t.title,
          calculation: t.calculation,
          op: "failed",
          error: message,
        })),
        failure: `${message}\nИдентификатор запроса: ${requestId}`,
      };
      for (const t of result.tasks) {
        await this.#d.events.publish(org, "onec.task.failed", { ...t, op: "create", error: message, requestId });
      }
    }
    const entry = await appendLog(this.#d.kv, org, {
      at: new Date(started).toISOString(),
      requestId,
      outcome: result.outcome,
      durationMs: this.#d.clock.now() - started,
      bitrixCalls: calls,
      tasks: result.tasks,
    }, started);
    // After the log entry exists, so a page that refetches the log on this event finds it.
    await this.#d.events.publish(org, "onec.request.logged", {
      id: entry.id,
      requestId,
      outcome: result.outcome,
      tasks: result.tasks.length,
    });
    this.#d.metrics?.inc("shlyuz_onec_requests_total", { outcome: result.outcome });
    if (result.outcome !== "ok") log.warn("1C request finished with errors", { requestId, outcome: result.outcome });
    return { ...result, log: entry };
  }

  /**
   * Records a request refused before any work (it failed validation, 422), so a
   * 1C developer finds why it bounced in the intake log and the journal. The
   * tasks are listed as far as their ids and titles can be read from the body.
   */
  async logRejected(
    org: string,
    raw: unknown,
    reason: string,
    { requestId }: { requestId: string },
  ): Promise<LogEntry> {
    const now = this.#d.clock.now();
    const list = (raw as { tasks?: unknown })?.tasks;
    const text = (
      v: unknown,
      max: number,
    ) => (typeof v === "string" || typeof v === "number" ? String(v).slice(0, max) : "");
    const tasks = (Array.isArray(list) ? list : []).slice(0, 50).map((t) => ({
      onecId: text((t as { id?: unknown })?.id, 100) || "?",
      title: text((t as { title?: unknown })?.title, 250),
      calculation: text((t as { calculation?: unknown })?.calculation, 250),
      op: "failed" as const,
      error: reason.slice(0, 2000),
    }));
    const entry = await appendLog(this.#d.kv, org, {
      at: new Date(now).toISOString(),
      requestId,
      outcome: "rejected",
      reason: reason.slice(0, 2000),
      durationMs: 0,
      bitrixCalls: 0,
      tasks,
    }, now);
    await this.#d.events.publish(org, "onec.request.logged", {
      id: entry.id,
      requestId,
      outcome: "rejected",
      tasks: tasks.length,
    });
    this.#d.metrics?.inc("shlyuz_onec_requests_total", { outcome: "rejected" });
    return entry;
  }

  /**
   * Refreshes the caches. Without `force` only entries that expire within
   * `aheadMs` (default 7 min, a little more than the 5-minute cron) are
   * reloaded, so requests keep finding them warm. Returns the number of Bitrix requests made.
   */
  async refreshCaches(
    org: string,
    { force = false, aheadMs = 7 * 60_000 }: { force?: boolean; aheadMs?: number } = {},
  ): Promise<{ requests: number; refreshed: string[] }> {
    const settings = await this.settings(org);
    if (!settings.webhookUrl) return { requests: 0, refreshed: [] };
    let requests = 0;
    const client = await this.client(settings, {
      org,
      deadline: this.#d.clock.now() + 120_000,
      onRequest: () => requests++,
    });
    const dir = this.directory(org, settings, client);
    const cache = this.cache(org);
    const now = this.#d.clock.now();
    const due = async (kind: string[]) => {
      if (force) return true;
      const e = await cache.entry(kind);
      return !e || e.expiresAt - now < aheadMs;
    };
    const refreshed: string[] = [];
    const tick = async (name: string, kind: string[], fn: (force: boolean) => Promise<unknown>) => {
      if (!(await due(kind))) return;
      await fn(true);
      refreshed.push(name);
    };
    await tick("departments", ["departments"], (f) => dir.departments(f));
    await tick(
      "project",
      ["project", normalizeName(settings.projectName)],
      (f) => dir.project(f),
    );
    const { sections } = await dir.production();
    // Staff of every section (one batch each), then presence (one batch each).
    await Promise.all(sections.map((s) => tick(`staff:${s.id}`, ["staff", String(s.id)], (f) => dir.staff(s, f))));
    await Promise.all(sections.map(async (s) => {
      const staff = await dir.staff(s);
      await tick(`presence:${s.id}`, ["presence", String(s.id)], (f) => dir.presence(s, staff, f));
    }));
    // Lookups made on demand (e-mail → user, the upload folder) are not reloaded here; a forced
    // refresh drops the expired ones so the next request looks them up again.
    if (force) await cache.dropExpired();
    return { requests, refreshed };
  }

  /** Per-section load: open tasks and who is away, for the live board (one batch per 50 people). */
  async loadBoard(org: string): Promise<LoadBoardSection[]> {
    const settings = await this.settings(org);
    const client = await this.client(settings, { org, deadline: this.#d.clock.now() + 30_000 });
    const dir = this.directory(org, settings, client);
    const { sections } = await dir.production();
    const bySection = await Promise.all(sections.map(async (s) => {
      const staff = await dir.staff(s);
      return { s, staff, presence: await dir.presence(s, staff) };
    }));
    const ids = [...new Set(bySection.flatMap((x) => x.staff.map((p) => p.id)))];
    const counts = await countOpenTasks(client, ids);
    return bySection.map(({ s, staff, presence }) => ({
      id: s.id,
      name: s.name,
      people: staff.map((p) => {
        const a = availability(presence.people[p.id], presence.calendar, {
          now: this.#d.clock.now(),
          timeZone: settings.timeZone,
        });
        return { id: p.id, name: p.name, openTasks: counts.get(p.id) ?? 0, availability: a.when, why: a.why };
      }),
    }));
  }

  cacheState(org: string): Promise<CacheInfo[]> {
    return this.cache(org).list();
  }

  readLog(org: string, limit?: number): Promise<LogEntry[]> {
    return readLog(this.#d.kv, org, limit);
  }

  async #exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(fn);
    const tail = run.catch(() => {});
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }
}
