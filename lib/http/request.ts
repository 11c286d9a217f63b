/**
 * The one way Shlyuz calls an external HTTP API: through the guarded fetch
 * (the address policy on the request and every redirect hop), a timeout on
 * every call, network failures and HTTP failures as distinct errors, bodies
 * cut short in messages, and credentials never in a message.
 */
import { excerpt, UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { redactText } from "../log.ts";
import { type FetchFn, guardedFetch } from "./guarded_fetch.ts";
import type { AddressPolicy } from "./url_guard.ts";

export type { FetchFn } from "./guarded_fetch.ts";

export interface RequestOptions {
  /** Name of the service, used in error messages ("DaData", "Bitrix24"). */
  service: string;
  method?: string;
  headers?: HeadersInit;
  /** A value to send as JSON, or a ready body. */
  json?: unknown;
  body?: string | Uint8Array<ArrayBuffer>;
  /**
   * Which addresses the URL and every redirect may reach: the organization's
   * policy for a URL it chose, OPERATOR_POLICY for the operator's own (env).
   */
  policy: AddressPolicy;
  /** Redirect hops followed through the policy. Default 5. */
  maxRedirects?: number;
  /** Header names dropped on a cross-origin redirect besides the usual secret ones. */
  secretHeaders?: readonly string[];
  fetch?: FetchFn;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Read at most this many bytes of the body, cancel the rest and report
   * `truncated` (for targets a user chooses: a huge answer must not fill the
   * hub's memory). Default: the whole body.
   */
  maxBytes?: number;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** True when the body was longer than `maxBytes` and the rest was not read. */
  truncated?: boolean;
}

/** Sends a request and returns status, headers and the body text. Throws UpstreamHttpError on network failure or timeout. */
export async function requestText(url: string, options: RequestOptions): Promise<RawResponse> {
  const deadline = deadlines.start(options.timeoutMs ?? 15_000);
  try {
    return await send(url, deadline, options);
  } finally {
    deadlines.end(deadline);
  }
}

async function send(
  url: string,
  deadline: Deadline,
  { service, method = "POST", headers, json, body, policy, maxRedirects, secretHeaders, fetch, signal, maxBytes }:
    RequestOptions,
): Promise<RawResponse> {
  const timeout = deadline.controller.signal;
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const h = new Headers(headers);
  if (json !== undefined) {
    h.set("content-type", "application/json");
    if (!h.has("accept")) h.set("accept", "application/json");
  }
  let res: Response;
  try {
    res = await guardedFetch(
      url,
      { method, headers: h, body: json !== undefined ? JSON.stringify(json) : body, signal: combined },
      { policy, service, fetch, maxRedirects, secretHeaders },
    );
  } catch (cause) {
    // The guard's own refusals already say what happened.
    if (cause instanceof UpstreamApiError || cause instanceof UpstreamHttpError) throw cause;
    if (deadline.expired) {
      throw new UpstreamHttpError(`${service} did not answer within ${deadline.ms} ms`, { service, cause });
    }
    if (signal?.aborted) throw cause;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new UpstreamHttpError(`${service} is unreachable: ${redactText(why)}`, { service, cause });
  }
  let text: string;
  let truncated = false;
  try {
    if (maxBytes === undefined) text = await res.text();
    else ({ text, truncated } = await readCapped(res, maxBytes));
  } catch (cause) {
    throw new UpstreamHttpError(`${service} broke off its answer: ${cause instanceof Error ? cause.message : cause}`, {
      service,
      status: res.status,
      cause,
    });
  }
  const raw: RawResponse = { status: res.status, headers: res.headers, text };
  if (truncated) raw.truncated = true;
  return raw;
}

/**
 * Reads up to `maxBytes` of the body and cancels the stream past that, so the
 * rest is never downloaded. A character split at the cut is dropped, not
 * replaced.
 */
async function readCapped(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: "", truncated: false };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode(), truncated: false };
      const room = maxBytes - read;
      if (value.length > room) {
        // stream: true holds back an incomplete trailing character instead of emitting U+FFFD.
        text += decoder.decode(value.subarray(0, room), { stream: true });
        await reader.cancel().catch(() => {});
        return { text, truncated: true };
      }
      read += value.length;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
}

/** Parses a JSON body, throwing UpstreamHttpError (transient) when it is not JSON. */
export function parseJsonBody(service: string, raw: RawResponse): unknown {
  try {
    return JSON.parse(raw.text);
  } catch {
    throw new UpstreamHttpError(
      `${service} answered HTTP ${raw.status} with a body that is not JSON: ${excerpt(redactText(raw.text), 200)}`,
      { service, status: raw.status >= 400 ? raw.status : 502 },
    );
  }
}

/** Reads `Retry-After` (seconds or HTTP date) into milliseconds. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** A request's timeout: its controller aborts once `at` (performance.now() ms) has passed. */
interface Deadline {
  readonly at: number;
  readonly ms: number;
  readonly controller: AbortController;
  expired: boolean;
}

/**
 * Request timeouts without a timer per request: `AbortSignal.timeout` arms a
 * timer and builds a DOMException for every call, which showed in the
 * profile of the hot enrichment path. Deadlines of one duration end in the
 * order they began, so each duration keeps its deadlines in insertion order
 * and one timer waits for the earliest of their heads. A request that ends
 * leaves its set at once; the timer stops when none is left (no timer
 * outlives the requests, which the test sanitizers check).
 */
class Deadlines {
  readonly #byMs = new Map<number, Set<Deadline>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  start(ms: number): Deadline {
    const d: Deadline = { at: performance.now() + ms, ms, controller: new AbortController(), expired: false };
    let fifo = this.#byMs.get(ms);
    if (!fifo) this.#byMs.set(ms, fifo = new Set());
    fifo.add(d);
    if (d.at < this.#timerAt) this.#arm(d.at);
    return d;
  }

  end(d: Deadline): void {
    const fifo = this.#byMs.get(d.ms);
    if (!fifo?.delete(d) || fifo.size) return;
    this.#byMs.delete(d.ms);
    if (this.#byMs.size === 0) this.#arm(Infinity);
  }

  #fire(): void {
    this.#timerAt = Infinity;
    this.#timer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const [ms, fifo] of this.#byMs) {
      for (const d of fifo) {
        if (d.at > now) {
          next = Math.min(next, d.at);
          break;
        }
        fifo.delete(d);
        d.expired = true;
        d.controller.abort(new DOMException(`The request timed out after ${ms} ms`, "TimeoutError"));
      }
      if (fifo.size === 0) this.#byMs.delete(ms);
    }
    this.#arm(next);
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at !== Infinity) this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
  }
}

// One per process, like the timers it replaces: a deadline is process state, not configuration.
const deadlines = new Deadlines();
