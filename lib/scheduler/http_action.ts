/**
 * Runs an `http` action: the guarded request (the address policy on the URL
 * and every redirect hop, at most 5) with its timeout, the
 * schedule's retry policy (what lib/errors.ts calls transient — network
 * errors, timeouts, 408, 425, 429 and 5xx — is retried; other 4xx are not), and the last response kept for the run history, cut to
 * a size that fits a KV value.
 */
import type { Clock } from "../clock.ts";
import { excerpt, UpstreamHttpError } from "../errors.ts";
import { type FetchFn, type RawResponse, requestText, retryAfterMs } from "../http/request.ts";
import { withRetry } from "../http/retry.ts";
import { redactText } from "../log.ts";
import type { AddressPolicy } from "../http/url_guard.ts";

export interface HttpRequestSpec {
  method: string;
  url: string;
  /** Header values in the clear (opened from the SecretBox just before the call). */
  headers: Record<string, string>;
  body?: string;
}

export interface HttpActionOptions {
  fetch: FetchFn;
  clock: Clock;
  timeoutMs: number;
  retry: { attempts: number; backoffMs: number };
  /** The organization's address policy, checked on the URL and on every redirect hop. */
  policy: AddressPolicy;
  /** Largest response body kept, in UTF-8 bytes. */
  responseLimit: number;
  signal?: AbortSignal;
}

export interface HttpActionResult {
  outcome: "ok" | "failed" | "timeout";
  attempts: number;
  status?: number;
  body?: string;
  bytes?: number;
  truncated?: boolean;
  reason?: string;
}

/** Cuts `text` to at most `limit` UTF-8 bytes without splitting a character. */
export function capUtf8(text: string, limit: number): { text: string; bytes: number; truncated: boolean } {
  const encoded = new TextEncoder().encode(text);
  if (encoded.length <= limit) return { text, bytes: encoded.length, truncated: false };
  let end = limit;
  while (end > 0 && (encoded[end] & 0xc0) === 0x80) end--; // back off to a character boundary
  return { text: new TextDecoder().decode(encoded.subarray(0, end)), bytes: encoded.length, truncated: true };
}

/** Calls the target as the schedule says and reports what happened; never throws for the target's failures. */
export async function runHttpAction(spec: HttpRequestSpec, opts: HttpActionOptions): Promise<HttpActionResult> {
  const host = safeHost(spec.url);
  let attempts = 0;
  let last: RawResponse | undefined;
  const { attempts: retries, backoffMs } = opts.retry;
  try {
    await withRetry(async () => {
      attempts++;
      last = undefined;
      const raw = await requestText(spec.url, {
        service: host,
        method: spec.method,
        headers: spec.headers,
        body: spec.method === "GET" || spec.method === "HEAD" ? undefined : spec.body,
        // Redirects are followed through the policy (a public URL cannot bounce the call to a
        // refused address); every header of a schedule is a sealed secret, so none of them
        // goes on to another origin.
        policy: opts.policy,
        secretHeaders: Object.keys(spec.headers),
        fetch: opts.fetch,
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
        // Never more than we keep (+ room for a character cut at the limit): a schedule
        // pointing at a huge file must not fill the hub's memory.
        maxBytes: opts.responseLimit + 4,
      });
      last = raw;
      if (raw.status >= 400) {
        throw new UpstreamHttpError(`${host} answered HTTP ${raw.status}: ${excerpt(redactText(raw.text), 200)}`, {
          service: host,
          status: raw.status,
          retryAfterMs: retryAfterMs(raw.headers, opts.clock.now()),
        });
      }
    }, {
      retries,
      baseMs: backoffMs,
      maxMs: Math.max(backoffMs * 16, backoffMs),
      clock: opts.clock,
      signal: opts.signal,
    });
    return { outcome: "ok", attempts, ...responseFields(last, opts.responseLimit) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      outcome: isTimeout(error) ? "timeout" : "failed",
      attempts,
      reason,
      ...responseFields(last, opts.responseLimit),
    };
  }
}

function responseFields(raw: RawResponse | undefined, limit: number) {
  if (!raw) return {};
  const cut = capUtf8(raw.text, limit);
  if (!raw.truncated) return { status: raw.status, body: cut.text, bytes: cut.bytes, truncated: cut.truncated };
  // The rest was never read: the full size is known only when the target declared it.
  const declared = Number(raw.headers.get("content-length") ?? NaN);
  const bytes = Number.isSafeInteger(declared) && declared > cut.bytes ? declared : undefined;
  return { status: raw.status, body: cut.text, bytes, truncated: true };
}

function isTimeout(error: unknown): boolean {
  if (!(error instanceof UpstreamHttpError) || error.status !== undefined) return false;
  const cause = error.cause;
  return (cause instanceof DOMException && cause.name === "TimeoutError") ||
    /did not answer within/.test(error.message);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "the target";
  }
}
