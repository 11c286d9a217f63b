/**
 * The event bus. `publish` appends the event to KV (with a TTL, so SSE clients
 * can resume with `Last-Event-ID`) and fans it out: to subscribers in this
 * isolate directly and to other isolates through a BroadcastChannel (which
 * spans isolates on Deno Deploy). Rules and live pages subscribe here.
 */
import { newId } from "./ids.ts";
import type { Logger } from "./log.ts";

export interface HubEvent {
  /** ULID: sortable, used as the SSE id. */
  id: string;
  org: string;
  type: string;
  /** ISO time of publication. */
  at: string;
  data: Record<string, unknown>;
}

export type EventListener = (event: HubEvent) => void;

export interface EventBusOptions {
  log: Logger;
  /** How long events stay readable for resumption. Default 24 h. */
  retentionMs?: number;
  /** BroadcastChannel name; null disables cross-isolate fan-out. */
  channel?: string | null;
  now?: () => number;
}

const MAX_LIST = 1000;

export class EventBus {
  readonly #kv: Deno.Kv;
  readonly #log: Logger;
  readonly #retentionMs: number;
  readonly #listeners = new Map<string, Set<EventListener>>();
  readonly #any = new Set<EventListener>();
  readonly #bc: BroadcastChannel | null;
  readonly #now: () => number;

  constructor(
    kv: Deno.Kv,
    { log, retentionMs = 24 * 60 * 60 * 1000, channel = "shlyuz-events", now = Date.now }: EventBusOptions,
  ) {
    this.#kv = kv;
    this.#log = log;
    this.#retentionMs = retentionMs;
    this.#now = now;
    this.#bc = channel ? new BroadcastChannel(channel) : null;
    if (this.#bc) this.#bc.onmessage = (m: MessageEvent<HubEvent>) => this.#deliver(m.data, false);
  }

  /** Records and fans out one event. */
  async publish(org: string, type: string, data: Record<string, unknown> = {}): Promise<HubEvent> {
    const now = this.#now();
    const event: HubEvent = { id: newId(now), org, type, at: new Date(now).toISOString(), data };
    await this.#kv.set(["event", org, event.id], event, { expireIn: this.#retentionMs });
    this.#deliver(event, true);
    return event;
  }

  /**
   * Adds the record of an event to `op`, so it commits together with the writes it reports (no write of its
   * own); call the returned function once the commit succeeded to fan the event out.
   */
  stage(op: Deno.AtomicOperation, org: string, type: string, data: Record<string, unknown> = {}): () => HubEvent {
    const now = this.#now();
    const event: HubEvent = { id: newId(now), org, type, at: new Date(now).toISOString(), data };
    op.set(["event", org, event.id], event, { expireIn: this.#retentionMs });
    return () => {
      this.#deliver(event, true);
      return event;
    };
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
      if (set.size === 0) this.#listeners.delete(org);
    };
  }

  /** Listens to every organization's events (rules, metrics). */
  subscribeAll(fn: EventListener): () => void {
    this.#any.add(fn);
    return () => this.#any.delete(fn);
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

  get subscriberCount(): number {
    let n = this.#any.size;
    for (const s of this.#listeners.values()) n += s.size;
    return n;
  }

  close(): void {
    this.#bc?.close();
    this.#listeners.clear();
    this.#any.clear();
  }
}

/** `types` entries match exactly or by prefix with a trailing `*` (`task.*`). */
export function matchesType(type: string, types: string[]): boolean {
  return types.some((t) => t === type || (t.endsWith("*") && type.startsWith(t.slice(0, -1))));
}
