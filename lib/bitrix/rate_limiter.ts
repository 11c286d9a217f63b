/**
 * Client-side mirror of Bitrix24's leaky bucket (reference §1.3): each request
 * adds 1 to a per-portal counter that drains at `ratePerSec`; above `burst` the
 * portal answers 503 QUERY_LIMIT_EXCEEDED. We schedule requests with GCRA (the
 * generic cell rate algorithm), which is the same bucket expressed as a
 * "theoretical arrival time": FIFO, exact, no polling loop.
 *
 * One limiter per portal, shared by every request of the process
 * (`RateLimiterRegistry`, owned by the hub's Bitrix service). On Deno Deploy
 * each isolate has its own registry, so N isolates may together send N× the
 * rate; we accept that instead of a KV round trip per call (a KV-coordinated
 * bucket would add ~10 ms and a write to every Bitrix call), because the
 * client also retries 503 with backoff and `penalize()`s the bucket, so an
 * overshoot costs latency, never an error surfaced to 1C. Operators running
 * several isolates can lower the rate in the settings (rate / isolates).
 */
import { type Clock, systemClock } from "../clock.ts";

export interface RateLimitOptions {
  /** Sustained requests per second (Bitrix24: 2, Enterprise: 5). */
  ratePerSec?: number;
  /** Requests allowed at once before the bucket overflows (Bitrix24: 50, Enterprise: 250). */
  burst?: number;
  /**
   * Slots of the burst we never use, a margin for other clients on the same IP
   * and for arrival jitter. Default 2.
   */
  reserve?: number;
}

/** Thrown when waiting for a slot would outlast the caller's deadline. */
export class RateLimitWaitError extends Error {
  override name = "RateLimitWaitError";
  constructor(readonly waitMs: number) {
    super(`Cannot call Bitrix24 in time: the portal's rate limit queue is ${Math.ceil(waitMs)} ms long`);
  }
}

/** A GCRA limiter for one portal. */
export class RateLimiter {
  #tat = 0;
  #intervalMs: number;
  #toleranceMs: number;
  readonly #clock: Clock;
  #waiting = 0;
  #granted = 0;

  constructor(opts: RateLimitOptions = {}, clock: Clock = systemClock) {
    this.#clock = clock;
    this.#intervalMs = 0;
    this.#toleranceMs = 0;
    this.configure(opts);
  }

  /** Changes the limits (settings edited at run time); the current backlog is kept. */
  configure({ ratePerSec = 2, burst = 50, reserve = 2 }: RateLimitOptions): void {
    if (!(ratePerSec > 0) || !(burst >= 1)) throw new RangeError("Rate limit needs ratePerSec > 0 and burst >= 1");
    this.#intervalMs = 1000 / ratePerSec;
    const usable = Math.max(1, burst - Math.max(0, reserve));
    this.#toleranceMs = (usable - 1) * this.#intervalMs;
  }

  /**
   * Waits for a slot. Throws RateLimitWaitError without taking a slot when the
   * wait would end after `deadline` (epoch ms).
   */
  async acquire({ deadline, signal }: { deadline?: number; signal?: AbortSignal } = {}): Promise<void> {
    const wait = this.#reserve(deadline);
    if (wait <= 0) return;
    this.#waiting++;
    try {
      await this.#clock.sleep(wait, signal);
    } finally {
      this.#waiting--;
    }
  }

  #reserve(deadline?: number): number {
    const now = this.#clock.now();
    const tat = Math.max(this.#tat, now);
    const at = Math.max(now, tat - this.#toleranceMs);
    const wait = at - now;
    if (deadline !== undefined && now + wait > deadline) throw new RateLimitWaitError(wait);
    this.#tat = tat + this.#intervalMs;
    this.#granted++;
    return wait;
  }

  /** The portal said QUERY_LIMIT_EXCEEDED: treat the bucket as full from now on. */
  penalize(): void {
    const now = this.#clock.now();
    this.#tat = Math.max(this.#tat, now + this.#toleranceMs + this.#intervalMs);
  }

  /** For the admin page and metrics. */
  stats(): { waiting: number; granted: number; backlogMs: number } {
    const now = this.#clock.now();
    return {
      waiting: this.#waiting,
      granted: this.#granted,
      backlogMs: Math.max(0, this.#tat - now - this.#toleranceMs),
    };
  }
}

/** One limiter per portal host, shared by the whole process. */
export class RateLimiterRegistry {
  readonly #limiters = new Map<string, RateLimiter>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** The limiter of `portal` (a host name), created on first use and reconfigured when limits change. */
  for(portal: string, opts: RateLimitOptions = {}): RateLimiter {
    let limiter = this.#limiters.get(portal);
    if (!limiter) {
      limiter = new RateLimiter(opts, this.#clock);
      this.#limiters.set(portal, limiter);
    } else {
      limiter.configure(opts);
    }
    return limiter;
  }
}
