/**
 * KV caches of Bitrix24 data with a lifetime per kind, under
 * `["cache", "bitrix", org, kind, ...]`. Freshness is judged with the injected
 * clock (so tests can expire entries); KV's own `expireIn` (4× the lifetime)
 * only collects garbage. Concurrent misses of one key in this process share
 * one load (the `inflight` map is owned by the hub's 1C service), so a burst
 * of requests with a cold cache costs one Bitrix call.
 */
import type { Clock } from "../clock.ts";

export interface CacheEntry<T> {
  value: T;
  fetchedAt: number;
  expiresAt: number;
}

export interface CacheInfo {
  key: string;
  fetchedAt: number;
  expiresAt: number;
  fresh: boolean;
}

export class BitrixCache {
  readonly #kv: Deno.Kv;
  readonly #org: string;
  readonly #clock: Clock;
  readonly #inflight: Map<string, Promise<unknown>>;

  constructor(
    kv: Deno.Kv,
    org: string,
    { clock, inflight = new Map() }: { clock: Clock; inflight?: Map<string, Promise<unknown>> },
  ) {
    this.#kv = kv;
    this.#org = org;
    this.#clock = clock;
    this.#inflight = inflight;
  }

  #key(kind: string[]): Deno.KvKey {
    return ["cache", "bitrix", this.#org, ...kind];
  }

  /** The stored entry, fresh or not (null when never loaded or collected). */
  async entry<T>(kind: string[]): Promise<CacheEntry<T> | null> {
    return (await this.#kv.get<CacheEntry<T>>(this.#key(kind))).value;
  }

  /** The cached value when fresh; otherwise loads, stores and returns it. */
  async get<T>(kind: string[], ttlMs: number, load: () => Promise<T>): Promise<T> {
    const e = await this.entry<T>(kind);
    if (e && e.expiresAt > this.#clock.now()) return e.value;
    return this.refresh(kind, ttlMs, load);
  }

  /** Loads and stores a value now (shared with concurrent callers of the same key in this process). */
  refresh<T>(kind: string[], ttlMs: number, load: () => Promise<T>): Promise<T> {
    const map = this.#inflight;
    const id = JSON.stringify(this.#key(kind));
    const running = map.get(id);
    if (running) return running as Promise<T>;
    const p = (async () => {
      try {
        const value = await load();
        await this.set(kind, value, ttlMs);
        return value;
      } finally {
        map.delete(id);
      }
    })();
    map.set(id, p);
    return p;
  }

  /** Stores a value with a lifetime. */
  async set<T>(kind: string[], value: T, ttlMs: number): Promise<void> {
    const now = this.#clock.now();
    const entry: CacheEntry<T> = { value, fetchedAt: now, expiresAt: now + ttlMs };
    await this.#kv.set(this.#key(kind), entry, { expireIn: Math.max(60_000, ttlMs * 4) });
  }

  /** Every cached entry of the organization, for the admin page. */
  async list(): Promise<CacheInfo[]> {
    const out: CacheInfo[] = [];
    const now = this.#clock.now();
    for await (const e of this.#kv.list<CacheEntry<unknown>>({ prefix: ["cache", "bitrix", this.#org] })) {
      out.push({
        key: e.key.slice(3).join(":"),
        fetchedAt: e.value.fetchedAt,
        expiresAt: e.value.expiresAt,
        fresh: e.value.expiresAt > now,
      });
    }
    return out;
  }

  /** Drops expired entries; returns their keys. */
  async dropExpired(): Promise<string[]> {
    const now = this.#clock.now();
    const dropped: string[] = [];
    for await (const e of this.#kv.list<CacheEntry<unknown>>({ prefix: ["cache", "bitrix", this.#org] })) {
      if (e.value.expiresAt > now) continue;
      await this.#kv.delete(e.key);
      dropped.push(e.key.slice(3).join(":"));
    }
    return dropped;
  }

  /** Drops every entry (used before a forced refresh in tests and by "clear"). */
  async clear(): Promise<void> {
    for await (const e of this.#kv.list({ prefix: ["cache", "bitrix", this.#org] })) await this.#kv.delete(e.key);
  }
}
