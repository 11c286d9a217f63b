/**
 * The event bus. `publish` checks the event against the catalogue, appends it
 * to KV (with a TTL, so streams can resume with `Last-Event-ID`) and fans it
 * out: to subscribers in this isolate directly and to other isolates through a
 * BroadcastChannel (which spans isolates on Deno Deploy). Live pages read it
 * through `stream()`, rules through `subscribeAll()`.
 *
 * A payload that does not match its type's schema, or a type that is not in
 * the catalogue, is a bug in the publisher: TypeScript refuses it, and at run
 * time `strict` (tests, `deno task dev`: SHLYUZ_EVENTS_STRICT=1) throws a
 * TypeError. In production (not strict) the event is dropped — logged as an
 * error and counted in `shlyuz_events_rejected_total` — and `publish` answers
 * null: the publisher's own work (a created task, a stored result) is not
 * undone or retried because of its event, and rules never see data that
 * breaks the schema they were checked against.
 */
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { formatZodError } from "../validation.ts";
import { CATALOGUE } from "./catalogue.ts";
import type { EventDefinition } from "./define.ts";
import { isCustomType } from "./custom.ts";
import { matchesType } from "./match.ts";
import { streamEvents, type StreamOptions } from "./stream.ts";
import type { EventInput, EventOf, EventType, HubEvent, StreamItem } from "./types.ts";

export type EventListener = (event: HubEvent) => void;

export interface EventBusOptions {
  log: Logger;
  metrics?: Metrics;
  /** How long events stay readable for resumption. Default 24 h. */
  retentionMs?: number;
  /** BroadcastChannel name; null disables cross-isolate fan-out. */
  channel?: string | null;
  now?: () => number;
  /** Throw on an unknown type or a wrong payload instead of logging and dropping the event. Default false. */
  strict?: boolean;
  /** Default idle time before a stream yields a heartbeat. Default 15 s. */
  heartbeatMs?: number;
}

const MAX_LIST = 1000;

/** The catalogue entry of `type` (`custom.<name>` shares one), or undefined when it is not declared. */
export function definitionOf(type: string): EventDefinition | undefined {
  if (type !== "custom.*" && Object.hasOwn(CATALOGUE, type)) {
    return (CATALOGUE as Record<string, EventDefinition>)[type];
  }
  return isCustomType(type) ? CATALOGUE["custom.*"] : undefined;
}

export class EventBus {
  readonly #kv: Deno.Kv;
  readonly #log: Logger;
  readonly #metrics?: Metrics;
  readonly #retentionMs: number;
  readonly #strict: boolean;
  readonly #heartbeatMs: number;
  readonly #listeners = new Map<string, Set<EventListener>>();
  readonly #any = new Set<EventListener>();
  readonly #bc: BroadcastChannel | null;
  readonly #now: () => number;
  readonly #closed = new AbortController();

  constructor(
    kv: Deno.Kv,
    {
      log,
      metrics,
      retentionMs = 24 * 60 * 60 * 1000,
      channel = "shlyuz-events",
      now = Date.now,
      strict = false,
      heartbeatMs = 15_000,
    }: EventBusOptions,
  ) {
    this.#kv = kv;
    this.#log = log;
    this.#metrics = metrics;
    this.#retentionMs = retentionMs;
    this.#strict = strict;
    this.#heartbeatMs = heartbeatMs;
    this.#now = now;
    this.#bc = channel ? new BroadcastChannel(channel) : null;
    if (this.#bc) this.#bc.onmessage = (m: MessageEvent<HubEvent>) => this.#deliver(m.data, false);
    metrics?.describe("shlyuz_events_rejected_total", "Events dropped because their type or data broke the catalogue");
  }

  /**
   * Checks, records and fans out one event. Answers the event as stored, or
   * null when it was rejected (not strict; see the module doc).
   *
   * @example
   * ```ts
   * await hub.events.publish(org, "task.failed", { task_id: 7, task_type: "clean_address", reason, source: "rest" });
   * ```
   */
  async publish<T extends EventType>(org: string, type: T, data: EventInput<T>): Promise<EventOf<T> | null> {
    const event = this.#build(org, type, data);
    if (!event) return null;
    await this.#kv.set(["event", org, event.id], event, { expireIn: this.#retentionMs });
    this.#deliver(event, true);
    return event;
  }

  /**
   * Like `publish`, but the event's record joins `op`, so it commits together with the writes it reports
   * (no write of its own); call the returned function once the commit succeeded to fan the event out.
   * A rejected event stages nothing (and the function does nothing).
   */
  stage<T extends EventType>(op: Deno.AtomicOperation, org: string, type: T, data: EventInput<T>): () => void {
    const event = this.#build(org, type, data);
    if (!event) return () => {};
    op.set(["event", org, event.id], event, { expireIn: this.#retentionMs });
    return () => this.#deliver(event, true);
  }

  /** The event as it will be stored, or null (counted, logged) when the catalogue refuses it. */
  #build<T extends EventType>(org: string, type: T, data: EventInput<T>): EventOf<T> | null {
    const def = definitionOf(type);
    if (!def) {
      return this.#reject(type, `${type} is not in the event catalogue (declare it in lib/<capability>/events.ts)`);
    }
    const parsed = def.schema.safeParse(data);
    if (!parsed.success) {
      return this.#reject(type, `its data does not match the schema: ${formatZodError(parsed.error)}`);
    }
    const now = this.#now();
    return { id: newId(now), org, type, at: new Date(now).toISOString(), data: parsed.data } as EventOf<T>;
  }

  #reject(type: string, why: string): null {
    const message = `Cannot publish event ${type}: ${why}`;
    if (this.#strict) throw new TypeError(message);
    this.#metrics?.inc("shlyuz_events_rejected_total", { type: definitionOf(type) ? type : "unknown" });
    this.#log.error("event rejected", { type, why });
    return null;
  }

  #deliver(event: HubEvent, local: boolean) {
    for (const fn of [...(this.#listeners.get(event.org) ?? []), ...this.#any]) {
      try {
        fn(event);
      } catch (error) {
        this.#log.error("event listener failed", { type: event.type, error });
      }
    }
    if (local && this.#bc) {
      try {
        this.#bc.postMessage(event);
      } catch (error) {
        this.#log.warn("broadcast failed", { error });
      }
    }
  }

  /** Listens to one organization's events; returns the unsubscribe function. */
  subscribe(org: string, fn: EventListener): () => void {
    let set = this.#listeners.get(org);
    if (!set) this.#listeners.set(org, set = new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#listeners.get(org) === set) this.#listeners.delete(org);
    };
  }

  /** Listens to every organization's events (rules, metrics). */
  subscribeAll(fn: EventListener): () => void {
    this.#any.add(fn);
    return () => this.#any.delete(fn);
  }

  /**
   * One organization's events as an async iterator (lib/events/stream.ts):
   * `open`, then the stored events after `afterId`, then live ones, with
   * heartbeats. Ends when `signal` aborts or the bus closes.
   *
   * @example
   * ```ts
   * for await (const item of hub.events.stream(org, { afterId: lastEventId, types: ["task.*"], signal })) {
   *   if (item.kind === "event") send(item.event);
   * }
   * ```
   */
  stream(org: string, options: StreamOptions = {}): AsyncGenerator<StreamItem, void, undefined> {
    const signal = options.signal ? AbortSignal.any([options.signal, this.#closed.signal]) : this.#closed.signal;
    return streamEvents(this, org, { heartbeatMs: this.#heartbeatMs, ...options, signal });
  }

  /** Stored events after `afterId` (exclusive), oldest first. */
  async since(
    org: string,
    { afterId, types, limit = MAX_LIST }: { afterId?: string; types?: string[]; limit?: number } = {},
  ): Promise<HubEvent[]> {
    const out: HubEvent[] = [];
    const selector: Deno.KvListSelector = afterId
      ? { prefix: ["event", org], start: ["event", org, afterId + "\0"] }
      : { prefix: ["event", org] };
    for await (const e of this.#kv.list<HubEvent>(selector)) {
      if (types && !matchesType(e.value.type, types)) continue;
      out.push(e.value);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The newest events, newest first. */
  async recent(org: string, { types, limit = 50 }: { types?: string[]; limit?: number } = {}): Promise<HubEvent[]> {
    const out: HubEvent[] = [];
    for await (const e of this.#kv.list<HubEvent>({ prefix: ["event", org] }, { reverse: true })) {
      if (types && !matchesType(e.value.type, types)) continue;
      out.push(e.value);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Open subscriptions in this process (each stream holds one). */
  get subscriberCount(): number {
    let n = this.#any.size;
    for (const s of this.#listeners.values()) n += s.size;
    return n;
  }

  /** Stops fan-out and ends every open stream. */
  close(): void {
    this.#closed.abort();
    this.#bc?.close();
    this.#listeners.clear();
    this.#any.clear();
  }
}
