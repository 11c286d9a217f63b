/**
 * The one fetch for URLs an organization chooses (and the operator's own, with
 * a wider policy): the address policy (url_guard.ts) is checked — DNS included
 * — before the request AND before every redirect hop. Redirects are followed
 * by hand (`redirect: "manual"`): 307/308 keep method and body, 301/302 turn
 * a POST into a GET and 303 anything but HEAD into a GET (as fetch does);
 * secret headers are dropped when a hop changes origin; at most `maxRedirects`
 * hops, and a loop is reported as one.
 */
import { UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { type AddressPolicy, checkHost, parseCallableUrl } from "./url_guard.ts";

export type FetchFn = typeof globalThis.fetch;

/** Headers never carried to another origin (besides those a caller marks secret). */
export const SECRET_HEADERS = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "x-secret",
  "api-key",
  "x-api-key",
] as const;

export interface GuardedRequest {
  method?: string;
  headers?: HeadersInit;
  /** A replayable body (307/308 send it again). */
  body?: string | Uint8Array<ArrayBuffer>;
  signal?: AbortSignal;
}

export interface GuardOptions {
  policy: AddressPolicy;
  /** Name of the service, for messages ("DaData", a scheduled action's host). */
  service: string;
  fetch?: FetchFn;
  /** Redirect hops followed at most. Default 5; 0 refuses every redirect. */
  maxRedirects?: number;
  /** More header names to drop on a cross-origin hop (every header of a schedule is a sealed secret). */
  secretHeaders?: readonly string[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = ["content-type", "content-length", "content-encoding", "content-language", "content-location"];

/**
 * Sends the request through the address policy and follows redirects through
 * it too. Throws UpstreamApiError `address_refused` (not retryable) when an
 * address is refused, `too_many_redirects` when the hops run out or loop, and
 * UpstreamHttpError (transient) when a host does not resolve.
 *
 * @example
 * const res = await guardedFetch(url, { method: "POST", body }, { policy, service: "Webhook" });
 */
export async function guardedFetch(
  url: string,
  request: GuardedRequest,
  { policy, service, fetch = globalThis.fetch, maxRedirects = 5, secretHeaders = [] }: GuardOptions,
): Promise<Response> {
  let method = (request.method ?? "GET").toUpperCase();
  let body = request.body;
  // The caller's headers go out as they are; a copy to edit is made only when a redirect has to drop some
  // (most calls never redirect, and each Headers copy costs more than the request's own work here).
  let headers: HeadersInit | undefined = request.headers;
  let editable: Headers | undefined;
  const seen = new Set<string>();
  let current = url;
  for (let hop = 0;; hop++) {
    const target = await checkedUrl(current, policy, service, hop > 0);
    seen.add(target.href);
    const res = await fetch(target.href, { method, headers, body, signal: request.signal, redirect: "manual" });
    const location = res.headers.get("location");
    if (!REDIRECTS.has(res.status) || location === null) return res;
    headers = editable ??= new Headers(request.headers);
    await res.body?.cancel();
    let next: URL;
    try {
      next = new URL(location, target);
    } catch {
      throw new UpstreamApiError(`${service} redirected to an invalid URL: ${location.slice(0, 200)}`, {
        service,
        code: "bad_redirect",
        status: res.status,
      });
    }
    if (seen.has(next.href)) {
      throw new UpstreamApiError(`${service} redirects in a loop (back to ${next.origin}${next.pathname})`, {
        service,
        code: "too_many_redirects",
        status: res.status,
      });
    }
    if (hop >= maxRedirects) {
      throw new UpstreamApiError(
        maxRedirects === 0
          ? `${service} answered a redirect (HTTP ${res.status}), which this call does not follow`
          : `${service} redirected more than ${maxRedirects} times`,
        { service, code: "too_many_redirects", status: res.status },
      );
    }
    if (next.origin !== target.origin) {
      for (const name of SECRET_HEADERS) editable.delete(name);
      for (const name of secretHeaders) editable.delete(name);
    }
    if (res.status === 303 ? method !== "HEAD" : (res.status === 301 || res.status === 302) && method === "POST") {
      method = "GET";
      body = undefined;
      for (const name of BODY_HEADERS) editable.delete(name);
    }
    current = next.href;
  }
}

async function checkedUrl(url: string, policy: AddressPolicy, service: string, redirected: boolean): Promise<URL> {
  const u = parseCallableUrl(url);
  const refused = (problem: string) => {
    const said = redirected ? `${service} redirected to a refused address: ${problem}` : problem;
    return new UpstreamApiError(policy.refusedAs ? `${policy.refusedAs}: ${said}` : said, {
      service,
      code: "address_refused",
    });
  };
  if (typeof u === "string") throw refused(u);
  const check = await checkHost(u.hostname, policy);
  if (check.ok) return u;
  // A name that does not resolve may resolve later, as a failed call would: transient.
  if (check.unresolved) throw new UpstreamHttpError(check.problem, { service });
  throw refused(check.problem);
}
