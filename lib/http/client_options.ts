/**
 * The options every external client takes (DaData, YandexGPT, Bitrix24, and
 * the ones to come): where to call, through which fetch and address policy,
 * with which clock, timeout, retries and logger.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { FetchFn } from "./guarded_fetch.ts";
import type { RetryOptions } from "./retry.ts";
import type { AddressPolicy } from "./url_guard.ts";

/** How a client retries transient failures (429, 5xx, network errors, malformed answers). */
export interface ClientRetry {
  /** Retries after the first attempt. Default: the client's own (3 for DaData and YandexGPT). */
  retries?: number;
  /** First backoff step (ms); the waits double with full jitter. */
  baseMs?: number;
  /** Cap of one wait (ms). */
  maxMs?: number;
  random?: () => number;
  /** Called before each wait, for metrics and logs. */
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
}

export interface ClientOptions {
  /** Where the API lives (for Bitrix24: the inbound webhook URL `https://PORTAL/rest/USER_ID/CODE/`). */
  baseUrl: string;
  /**
   * Which addresses the base URL and its redirects may reach: the
   * organization's policy for a URL it set (orgAddressPolicy), OPERATOR_POLICY
   * for the operator's own (env).
   */
  policy: AddressPolicy;
  fetch?: FetchFn;
  clock?: Clock;
  /** Per attempt, in ms. Default: the client's own. */
  timeoutMs?: number;
  retry?: ClientRetry;
  log?: Logger;
  signal?: AbortSignal;
}

/** The `withRetry` options of a client, from its options, its defaults and the call's deadline. */
export function clientRetryOptions(
  o: Pick<ClientOptions, "retry" | "clock" | "signal">,
  { retries, baseMs, maxMs, deadline }: { retries: number; baseMs: number; maxMs?: number; deadline?: number },
): RetryOptions {
  const r = o.retry ?? {};
  return {
    retries: r.retries ?? retries,
    baseMs: r.baseMs ?? baseMs,
    maxMs: r.maxMs ?? maxMs,
    clock: o.clock,
    random: r.random,
    signal: o.signal,
    onRetry: r.onRetry,
    deadline,
  };
}
