/**
 * The one way Shlyuz calls an external HTTP API: a timeout on every call,
 * network failures and HTTP failures as distinct errors, bodies cut short in
 * messages, and credentials never in a message.
 */
import { excerpt, UpstreamHttpError } from "../errors.ts";
import { redactText } from "../log.ts";

export type FetchFn = typeof globalThis.fetch;

export interface RequestOptions {
  /** Name of the service, used in error messages ("DaData", "Bitrix24"). */
  service: string;
  method?: string;
  headers?: HeadersInit;
  /** A value to send as JSON, or a ready body. */
  json?: unknown;
  body?: BodyInit;
  fetch?: FetchFn;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Sends a request and returns status, headers and the body text. Throws UpstreamHttpError on network failure or timeout. */
export async function requestText(
  url: string,
  { service, method = "POST", headers, json, body, fetch = globalThis.fetch, timeoutMs = 15_000, signal }:
    RequestOptions,
): Promise<RawResponse> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const h = new Headers(headers);
  if (json !== undefined) {
    h.set("content-type", "application/json");
    if (!h.has("accept")) h.set("accept", "application/json");
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: h,
      body: json !== undefined ? JSON.stringify(json) : body,
      signal: combined,
    });
  } catch (cause) {
    if (timeout.aborted) {
      throw new UpstreamHttpError(service, `${service} did not answer within ${timeoutMs} ms`, undefined, undefined, {
        cause,
      });
    }
    if (signal?.aborted) throw cause;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new UpstreamHttpError(service, `${service} is unreachable: ${redactText(why)}`, undefined, undefined, {
      cause,
    });
  }
  let text: string;
  try {
    text = await res.text();
  } catch (cause) {
    throw new UpstreamHttpError(
      service,
      `${service} broke off its answer: ${cause instanceof Error ? cause.message : cause}`,
      res.status,
      undefined,
      { cause },
    );
  }
  return { status: res.status, headers: res.headers, text };
}

/** Parses a JSON body, throwing UpstreamHttpError (transient) when it is not JSON. */
export function parseJsonBody(service: string, raw: RawResponse): unknown {
  try {
    return JSON.parse(raw.text);
  } catch {
    throw new UpstreamHttpError(
      service,
      `${service} answered HTTP ${raw.status} with a body that is not JSON: ${excerpt(redactText(raw.text), 200)}`,
      raw.status >= 400 ? raw.status : 502,
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
