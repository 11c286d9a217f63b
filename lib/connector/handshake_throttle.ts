/**
 * Throttling of refused connector handshakes, so whoever knows (or guesses) a
 * connector id cannot make the hub write for every socket it opens.
 *
 * Two counters per refusal, each with its own ceiling in a 15-minute window,
 * as for logins (lib/accounts/login_throttle.ts):
 * - this connector id from this address (10): a misconfigured agent, retrying
 *   every minute at most, stops here after a quarter of an hour of failures;
 *   only ids that exist get this counter — a guessed id is one a stranger
 *   chose, and a counter per guess would let it make the hub write keys
 *   without bound;
 * - this address for any connector (50): one address trying many ids.
 * "This address" is `addressForLimits` (lib/http/ip.ts): IPv4 as it is, IPv6
 * by its /64, which one host can rotate through.
 *
 * There is no ceiling for one connector id from anywhere: anyone knowing the
 * id could then lock the real agent out. What a connector's refusals write
 * (audit row, status, `connector.auth_failed`) is instead recorded at most
 * once a minute per connector, whatever the number of addresses.
 *
 * The counters live in KV (`["connector_handshake_fail", windowStart,
 * "address", addr]`, `[…, "pair", addr, id]`), so the ceilings hold for the
 * whole deployment: several isolates on Deno Deploy or several hub processes
 * do not multiply them. A refusal adds to them with one `sum` commit, which
 * never conflicts: parallel refusals are all counted, at one commit each (a
 * check-and-set had to retry each collision, and gave up uncounted).
 *
 * Windows are fixed (`windowStart` is the clock rounded down to the window)
 * because `sum` drops a key's `expireIn`: the window in the key is what makes
 * an old counter stale, and the first refusal a process sees in a new window
 * deletes the keys of earlier ones (they sort before the current window's, so
 * the range read touches no live key). At most the keys of the last window
 * with refusals therefore outlive it, until the next refusal comes. A burst across a window's end may get up to twice a ceiling
 * in a short time; a lock lasts until its window ends.
 *
 * An address or pair once seen at its ceiling is remembered in this process
 * until its window ends, so its further sockets cost no KV access here at all.
 * Counting refusals, not attempts, keeps a successful handshake free of writes
 * (the 1,000 agents of the benchmark). The ceiling is read when a handshake
 * starts: handshakes already past that read when it is reached still get
 * their credentials checked (each is counted) — at most the sockets one
 * address may have in their handshake at once in each process
 * (`CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS`). A successful handshake clears its
 * pair.
 */
import { addressForLimits } from "../http/ip.ts";

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
  /** Told when deleting the counters of past windows failed (the next window's first refusal tries again). */
  onSweepError?: (error: unknown) => void;
}

export type Ceiling = "pair" | "address";

/** One handshake's view of the throttle: whether it is locked out, and what to record of its outcome. */
export interface HandshakeCheck {
  /** The ceiling this address (or this id from it) is at, or null: go on and check the credentials. */
  readonly locked: Ceiling | null;
  /**
   * Counts the handshake as refused, in KV (shared by every hub process): for the address always, and for
   * the pair only when `knownConnector` (the id exists).
   */
  refused(opts: { knownConnector: boolean }): Promise<void>;
  /** After a successful handshake: the pair starts again; the address keeps its count. */
  succeeded(): Promise<void>;
}

export const HANDSHAKE_THROTTLE_PREFIX = "connector_handshake_fail";
/** Stale keys deleted per commit when a window ends (well under KV's mutations per atomic operation). */
const SWEEP_BATCH = 500;

/** Counts refused handshakes in KV and says when an address, or an id from it, is over its ceiling. */
export class HandshakeThrottle {
  readonly #kv: Deno.Kv;
  /** Counter key → end of its window, for counters seen at their ceiling. */
  readonly #locks = new Map<string, number>();
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #max: Record<Ceiling, number>;
  readonly #maxKeys: number;
  readonly #onSweepError: (error: unknown) => void;
  /** The window whose first refusal here deleted the earlier windows' counters. */
  #sweptWindow = -Infinity;

  constructor(
    kv: Deno.Kv,
    {
      now = Date.now,
      windowMs = HANDSHAKE_WINDOW_MS,
      maxPerPair = 10,
      maxPerAddress = 50,
      maxKeys = 20_000,
      onSweepError = () => {},
    }: HandshakeThrottleOptions = {},
  ) {
    this.#kv = kv;
    this.#now = now;
    this.#windowMs = windowMs;
    this.#max = { pair: maxPerPair, address: maxPerAddress };
    this.#maxKeys = maxKeys;
    this.#onSweepError = onSweepError;
  }

  /**
   * Reads the counters of a handshake from `address` for `connectorId` (nothing is read when this process
   * already knows either is at its ceiling).
   *
   * @example
   * const check = await throttle.check(address, frame.connectorId);
   * if (check.locked) return close(CLOSE.throttled);
   * if (!ok) await check.refused({ knownConnector: record !== null }); else await check.succeeded();
   */
  async check(address: string | null, connectorId: string): Promise<HandshakeCheck> {
    const addr = address === null ? "unknown" : addressForLimits(address);
    const now = this.#now();
    const window = now - (now % this.#windowMs);
    const until = window + this.#windowMs;
    const keys: Record<Ceiling, Deno.KvKey> = {
      address: [HANDSHAKE_THROTTLE_PREFIX, window, "address", addr],
      pair: [HANDSHAKE_THROTTLE_PREFIX, window, "pair", addr, connectorId],
    };
    const remembered = this.#remembered(keys);
    if (remembered) return { locked: remembered, refused: () => Promise.resolve(), succeeded: () => Promise.resolve() };
    const entries = await this.#kv.getMany<[Deno.KvU64, Deno.KvU64]>([keys.address, keys.pair]);
    const seen: Record<Ceiling, number> = { address: count(entries[0]), pair: count(entries[1]) };
    const locked = (["address", "pair"] as const).find((c) => seen[c] >= this.#max[c]) ?? null;
    if (locked) this.#remember(keys[locked], until);
    return {
      locked,
      refused: async ({ knownConnector }) => {
        if (locked) return;
        const counted: Ceiling[] = knownConnector ? ["address", "pair"] : ["address"];
        const op = this.#kv.atomic();
        for (const c of counted) op.sum(keys[c], 1n);
        await op.commit(); // sums only, no check: it cannot conflict
        for (const c of counted) if (seen[c] + 1 >= this.#max[c]) this.#remember(keys[c], until);
        await this.#sweepBefore(window);
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

  /** Once per window in this process: deletes the counters of earlier windows (sums never expire). */
  async #sweepBefore(window: number) {
    if (this.#sweptWindow >= window) return;
    const previous = this.#sweptWindow;
    this.#sweptWindow = window; // before the first await: parallel refusals do not sweep again
    try {
      const stale = this.#kv.list({ start: [HANDSHAKE_THROTTLE_PREFIX], end: [HANDSHAKE_THROTTLE_PREFIX, window] });
      let op = this.#kv.atomic();
      let batched = 0;
      for await (const e of stale) {
        op.delete(e.key);
        if (++batched < SWEEP_BATCH) continue;
        await op.commit();
        [op, batched] = [this.#kv.atomic(), 0];
      }
      if (batched) await op.commit();
    } catch (error) {
      if (this.#sweptWindow === window) this.#sweptWindow = previous;
      this.#onSweepError(error);
    }
  }

  #remember(key: Deno.KvKey, until: number) {
    const id = JSON.stringify(key);
    this.#locks.delete(id); // re-inserted last: the map's order is the eviction order
    this.#locks.set(id, until);
    while (this.#locks.size > this.#maxKeys) this.#locks.delete(this.#locks.keys().next().value!);
  }
}

function count(entry: Deno.KvEntryMaybe<Deno.KvU64>): number {
  return entry.value === null ? 0 : Number(entry.value.value);
}
