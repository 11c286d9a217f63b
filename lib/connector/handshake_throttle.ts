/**
 * Throttling of refused connector handshakes, so whoever knows (or guesses) a
 * connector id cannot make the hub write for every socket it opens.
 *
 * Two counters per refusal, each with its own ceiling in a 15-minute window
 * (from the counter's first refusal), as for logins
 * (lib/accounts/login_throttle.ts):
 * - this connector id from this address (10): a misconfigured agent, retrying
 *   every minute at most, stops here after a quarter of an hour of failures;
 * - this address for any connector (50): one address trying many ids.
 *
 * There is no ceiling for one connector id from anywhere: anyone knowing the
 * id could then lock the real agent out. What a connector's refusals write
 * (audit row, status, `connector.auth_failed`) is instead recorded at most
 * once a minute per connector, whatever the number of addresses.
 *
 * The counters live in KV (`["connector_handshake_fail", "address", addr]`,
 * `[…, "pair", addr, id]`, expiring with their window), so the ceilings hold
 * for the whole deployment: several isolates on Deno Deploy or several hub
 * processes do not multiply them. A refusal costs one check-and-set commit
 * (the hub was about to write for it anyway); an address or pair once seen
 * at its ceiling is remembered in this process until its window ends, so its
 * further sockets cost no KV access here at all. Counting refusals, not
 * attempts, keeps a successful handshake free of writes (the 1,000 agents of
 * the benchmark); parallel refusals can overshoot a ceiling by the sockets
 * one address may have in their handshake at once
 * (`CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS`). A successful handshake clears its
 * pair.
 */

export const HANDSHAKE_WINDOW_MS = 15 * 60_000;

export interface HandshakeThrottleOptions {
  now?: () => number;
  windowMs?: number;
  /** Refusals of one connector id from one address per window. */
  maxPerPair?: number;
  /** Refusals from one address per window, any connector id. */
  maxPerAddress?: number;
  /** Locks remembered in this process at most (the oldest go first; KV still has them). */
  maxKeys?: number;
}

export type Ceiling = "pair" | "address";

/** A counter as stored in KV. */
interface Counter {
  count: number;
  /** When the window of this counter ends, epoch ms. */
  until: number;
}

/** One handshake's view of the throttle: whether it is locked out, and what to record of its outcome. */
export interface HandshakeCheck {
  /** The ceiling this address (or this id from it) is at, or null: go on and check the credentials. */
  readonly locked: Ceiling | null;
  /** Counts the handshake as refused, in KV (shared by every hub process). */
  refused(): Promise<void>;
  /** After a successful handshake: the pair starts again; the address keeps its count. */
  succeeded(): Promise<void>;
}

const PREFIX = "connector_handshake_fail";
/** Commits tried before a refusal gives up being counted: each conflict means another refusal was. */
const MAX_TRIES = 20;

/** Counts refused handshakes in KV and says when an address, or an id from it, is over its ceiling. */
export class HandshakeThrottle {
  readonly #kv: Deno.Kv;
  /** Counter key → end of its window, for counters seen at their ceiling. */
  readonly #locks = new Map<string, number>();
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #max: Record<Ceiling, number>;
  readonly #maxKeys: number;

  constructor(
    kv: Deno.Kv,
    { now = Date.now, windowMs = HANDSHAKE_WINDOW_MS, maxPerPair = 10, maxPerAddress = 50, maxKeys = 20_000 }:
      HandshakeThrottleOptions = {},
  ) {
    this.#kv = kv;
    this.#now = now;
    this.#windowMs = windowMs;
    this.#max = { pair: maxPerPair, address: maxPerAddress };
    this.#maxKeys = maxKeys;
  }

  /**
   * Reads the counters of a handshake from `address` for `connectorId` (nothing is read when this process
   * already knows either is at its ceiling).
   *
   * @example
   * const check = await throttle.check(address, frame.connectorId);
   * if (check.locked) return close(CLOSE.throttled);
   * if (!ok) await check.refused(); else await check.succeeded();
   */
  async check(address: string | null, connectorId: string): Promise<HandshakeCheck> {
    const addr = address ?? "unknown";
    const keys: Record<Ceiling, Deno.KvKey> = {
      address: [PREFIX, "address", addr],
      pair: [PREFIX, "pair", addr, connectorId],
    };
    const remembered = this.#remembered(keys);
    if (remembered) return { locked: remembered, refused: () => Promise.resolve(), succeeded: () => Promise.resolve() };
    let entries = await this.#kv.getMany<[Counter, Counter]>([keys.address, keys.pair]);
    const locked = this.#lockedBy(keys, entries);
    return {
      locked,
      refused: async () => {
        if (locked) return;
        for (let tries = 0; tries < MAX_TRIES; tries++) {
          if (await this.#bump(keys, entries)) return;
          entries = await this.#kv.getMany<[Counter, Counter]>([keys.address, keys.pair]);
        }
      },
      succeeded: async () => {
        if (entries[1].versionstamp === null) return; // no refusal of this pair to forget: no write
        await this.#kv.delete(keys.pair);
      },
    };
  }

  /** A lock this process saw and whose window has not ended. */
  #remembered(keys: Record<Ceiling, Deno.KvKey>): Ceiling | null {
    const now = this.#now();
    for (const ceiling of ["address", "pair"] as const) {
      const id = JSON.stringify(keys[ceiling]);
      const until = this.#locks.get(id);
      if (until === undefined) continue;
      if (until > now) return ceiling;
      this.#locks.delete(id);
    }
    return null;
  }

  /** Which counter read is at its ceiling (remembered from now on), or null. */
  #lockedBy(keys: Record<Ceiling, Deno.KvKey>, entries: Deno.KvEntryMaybe<Counter>[]): Ceiling | null {
    const now = this.#now();
    for (const [i, ceiling] of (["address", "pair"] as const).entries()) {
      const c = entries[i].value;
      if (c && c.until > now && c.count >= this.#max[ceiling]) {
        this.#remember(keys[ceiling], c.until);
        return ceiling;
      }
    }
    return null;
  }

  /** One check-and-set of both counters; false when another refusal changed them first. */
  async #bump(keys: Record<Ceiling, Deno.KvKey>, entries: Deno.KvEntryMaybe<Counter>[]): Promise<boolean> {
    const now = this.#now();
    const op = this.#kv.atomic();
    const next: Counter[] = entries.map((e) => {
      const live = e.value && e.value.until > now ? e.value : null;
      return live ? { count: live.count + 1, until: live.until } : { count: 1, until: now + this.#windowMs };
    });
    for (const [i, e] of entries.entries()) {
      op.check(e).set(e.key, next[i], { expireIn: Math.max(1, next[i].until - now) });
    }
    if (!(await op.commit()).ok) return false;
    for (const [i, ceiling] of (["address", "pair"] as const).entries()) {
      if (next[i].count >= this.#max[ceiling]) this.#remember(keys[ceiling], next[i].until);
    }
    return true;
  }

  #remember(key: Deno.KvKey, until: number) {
    const id = JSON.stringify(key);
    this.#locks.delete(id); // re-inserted last: the map's order is the eviction order
    this.#locks.set(id, until);
    while (this.#locks.size > this.#maxKeys) this.#locks.delete(this.#locks.keys().next().value!);
  }
}
