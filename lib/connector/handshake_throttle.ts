/**
 * Throttling of refused connector handshakes, so whoever knows (or guesses) a
 * connector id cannot make the hub write for every socket it opens.
 *
 * Two counters per refusal, each with its own ceiling in a 15-minute window,
 * as for logins (lib/accounts/login_throttle.ts):
 * - this connector id from this address (10): a misconfigured agent, retrying
 *   every minute at most, stops here after a quarter of an hour of failures;
 * - this address for any connector (50): one address trying many ids.
 *
 * There is no ceiling for one connector id from anywhere: anyone knowing the
 * id could then lock the real agent out. What a connector's refusals write
 * (audit row, status, `connector.auth_failed`) is instead recorded at most
 * once a minute per connector, whatever the number of addresses.
 *
 * The counters live in this process's memory, on purpose: a counter in KV
 * would be one more write per refusal, the very thing being bounded (each
 * isolate counts on its own). A successful handshake clears its pair.
 */

export const HANDSHAKE_WINDOW_MS = 15 * 60_000;

export interface HandshakeThrottleOptions {
  now?: () => number;
  windowMs?: number;
  /** Refusals of one connector id from one address per window. */
  maxPerPair?: number;
  /** Refusals from one address per window, any connector id. */
  maxPerAddress?: number;
  /** Counters kept at most (the oldest go first): unknown ids from many addresses cannot grow memory. */
  maxKeys?: number;
}

interface Counter {
  count: number;
  /** When the window of this counter ends. */
  until: number;
}

/** Counts refused handshakes and says when an address, or an id from it, is over its ceiling. */
export class HandshakeThrottle {
  readonly #counters = new Map<string, Counter>();
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #maxPerPair: number;
  readonly #maxPerAddress: number;
  readonly #maxKeys: number;

  constructor(
    { now = Date.now, windowMs = HANDSHAKE_WINDOW_MS, maxPerPair = 10, maxPerAddress = 50, maxKeys = 20_000 }:
      HandshakeThrottleOptions = {},
  ) {
    this.#now = now;
    this.#windowMs = windowMs;
    this.#maxPerPair = maxPerPair;
    this.#maxPerAddress = maxPerAddress;
    this.#maxKeys = maxKeys;
  }

  /** Which ceiling a handshake from `address` for `connectorId` is over ("pair", "address"), or null. */
  locked(address: string | null, connectorId: string): "pair" | "address" | null {
    const addr = address ?? "unknown";
    if (this.#count(`address:${addr}`) >= this.#maxPerAddress) return "address";
    if (this.#count(`pair:${addr}:${connectorId}`) >= this.#maxPerPair) return "pair";
    return null;
  }

  /** Counts one refused handshake. */
  refused(address: string | null, connectorId: string): void {
    const addr = address ?? "unknown";
    this.#bump(`address:${addr}`);
    this.#bump(`pair:${addr}:${connectorId}`);
  }

  /** After a successful handshake: the pair starts again; the address keeps its count. */
  succeeded(address: string | null, connectorId: string): void {
    this.#counters.delete(`pair:${address ?? "unknown"}:${connectorId}`);
  }

  #count(key: string): number {
    const c = this.#counters.get(key);
    if (!c) return 0;
    if (c.until <= this.#now()) {
      this.#counters.delete(key);
      return 0;
    }
    return c.count;
  }

  #bump(key: string) {
    const count = this.#count(key);
    const until = count === 0 ? this.#now() + this.#windowMs : this.#counters.get(key)!.until;
    this.#counters.delete(key); // re-inserted last: the map's order is the eviction order
    this.#counters.set(key, { count: count + 1, until });
    while (this.#counters.size > this.#maxKeys) this.#counters.delete(this.#counters.keys().next().value!);
  }
}
