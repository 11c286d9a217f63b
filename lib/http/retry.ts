/**
 * Retries with exponential backoff and full jitter. The policy (what is
 * transient) is a parameter so every client states its own.
 */
import { isTransientError, UpstreamHttpError } from "../errors.ts";
import { type Clock, systemClock } from "../clock.ts";

export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** First backoff step in ms. Default 200. */
  baseMs?: number;
  /** Cap for one wait in ms. Default 5000. */
  maxMs?: number;
  isRetryable?: (error: unknown) => boolean;
  clock?: Clock;
  random?: () => number;
  signal?: AbortSignal;
  /** Called before each wait, for metrics and logs. */
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
  /** Stop retrying when the next wait would end after this time (epoch ms). */
  deadline?: number;
}

/** Runs `fn` until it succeeds, a non-retryable error occurs, or retries run out. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  {
    retries = 3,
    baseMs = 200,
    maxMs = 5000,
    isRetryable = isTransientError,
    clock = systemClock,
    random = Math.random,
    signal,
    onRetry,
    deadline,
  }: RetryOptions = {},
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= retries || !isRetryable(error) || signal?.aborted) throw error;
      const exp = Math.min(maxMs, baseMs * 2 ** attempt);
      let wait = Math.round(exp / 2 + random() * exp / 2);
      if (error instanceof UpstreamHttpError && error.retryAfterMs !== undefined) {
        wait = Math.max(wait, Math.min(error.retryAfterMs, maxMs * 4));
      }
      if (deadline !== undefined && clock.now() + wait > deadline) throw error;
      onRetry?.(error, attempt + 1, wait);
      await clock.sleep(wait, signal);
    }
  }
}
