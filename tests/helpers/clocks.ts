/** Clocks for tests: one that moves only when told, one that runs from a fixed start. */
import { type Clock, systemClock } from "../../lib/clock.ts";

/** A clock that only moves when told to; `sleep` moves it at once and records the wait. */
export class FakeClock implements Clock {
  sleeps: number[] = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
    return Promise.resolve();
  }
  set(iso: string | number) {
    this.t = typeof iso === "string" ? Date.parse(iso) : iso;
  }
}

/** Wednesday 12 March 2025, 10:00 Moscow time: a working day. */
export const WEDNESDAY_10AM = Date.parse("2025-03-12T10:00:00+03:00");

/** Real time flowing from a fixed start, plus jumps the test makes. */
export class TestClock implements Clock {
  offset = 0;
  readonly #t0 = performance.now();
  constructor(readonly start = WEDNESDAY_10AM) {}
  now(): number {
    return this.start + (performance.now() - this.#t0) + this.offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
  jump(ms: number): void {
    this.offset += ms;
  }
}
