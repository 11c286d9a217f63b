/** The options every enrichment client shares (the project's client surface). */
import type { Clock } from "../clock.ts";
import type { FetchFn } from "../http/request.ts";
import type { RetryOptions } from "../http/retry.ts";

export interface ClientOptions {
  baseUrl: string;
  fetch?: FetchFn;
  /** Per attempt. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx, network errors and malformed answers. Default 3. */
  retries?: number;
  /** First backoff step (ms); the waits double with full jitter. Default 200. */
  retryBaseMs?: number;
  clock?: Clock;
  random?: () => number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
  /**
   * Where the credentials come from, for the "not configured" message: "organization" when
   * the organization set its own base URL or keys (then no env credential applies). Default "env".
   */
  credentialsFrom?: "env" | "organization";
}

/** Options of one call. */
export interface CallOptions {
  /** Retries stop when the next wait would end after this time (epoch ms): the caller's claim on the task ends then. */
  deadline?: number;
}

/** The `withRetry` options every enrichment client uses, from its options and the call's deadline. */
export function retryOptions(o: ClientOptions, call: CallOptions = {}): RetryOptions {
  return {
    retries: o.retries ?? 3,
    baseMs: o.retryBaseMs ?? 200,
    clock: o.clock,
    random: o.random,
    signal: o.signal,
    onRetry: o.onRetry,
    deadline: call.deadline,
  };
}

/** Removes a credential from text quoted back by an upstream ("disabled for token 'XXX'"). */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("[redacted]");
  return out;
}

/** `https://host/` + `/api/v1/x` without a double slash. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + path;
}
