/** A clock whose time moves only when the test says so (or when `run` finds everyone asleep). */
import type { Clock } from "../../lib/clock.ts";

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = Date.parse("2025-03-12T09:00:00+03:00")) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#timers.push({ at: this.#now + ms, seq: this.#seq++, resolve }));
  }

  /** Moves time forward, waking sleepers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const next = this.#earliest();
      if (!next || next.at > target) break;
      this.#wake(next);
    }
    this.#now = target;
    await settle();
  }

  /** Runs `work` to completion, jumping time to the next timer whenever nothing else can run. */
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const p = work.finally(() => (done = true));
    while (!done) {
      await settle();
      if (done) break;
      const next = this.#earliest();
      if (next) this.#wake(next);
    }
    return p;
  }

  get pending(): number {
    return this.#timers.length;
  }

  #earliest(): Timer | undefined {
    return this.#timers.reduce<Timer | undefined>(
      (a, t) => (!a || t.at < a.at || (t.at === a.at && t.seq < a.seq) ? t : a),
      undefined,
    );
  }

  #wake(t: Timer) {
    this.#timers.splice(this.#timers.indexOf(t), 1);
    this.#now = Math.max(this.#now, t.at);
    t.resolve();
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
}
