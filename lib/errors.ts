/**
 * The few error classes callers actually catch. Programmer mistakes use the
 * built-in errors; everything that crosses a boundary is one of these.
 */

/** An error that maps to an HTTP response in the API's one error shape. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Shorthands for the statuses routes use most. */
export const httpErrors = {
  badRequest: (message: string, details?: unknown) => new HttpError(400, "bad_request", message, details),
  unauthorized: (message = "Cannot authenticate: send a valid API token or log in") =>
    new HttpError(401, "unauthorized", message),
  forbidden: (message = "Cannot do this: your role is too low") => new HttpError(403, "forbidden", message),
  notFound: (what = "object") => new HttpError(404, "not_found", `Cannot find ${what}`),
  conflict: (message: string, details?: unknown) => new HttpError(409, "conflict", message, details),
  unprocessable: (message: string, details?: unknown) => new HttpError(422, "validation_failed", message, details),
  tooMany: (message: string) => new HttpError(429, "too_many_requests", message),
};

/** HTTP statuses worth retrying: timeouts, "too early", rate limits and server failures. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** What an upstream error carries besides its message. */
export interface UpstreamErrorOptions extends ErrorOptions {
  /** The service called, for messages and metrics ("DaData", "Bitrix24", a scheduled action's host). */
  service: string;
  /** The HTTP status the upstream answered, when it answered. */
  status?: number;
}

/**
 * The upstream could not be reached or answered with a transport-level
 * failure (network error, timeout, an HTTP error status, an unparseable body).
 *
 * @example
 * throw new UpstreamHttpError("DaData failed with HTTP 502", { service: "DaData", status: 502 });
 */
export class UpstreamHttpError extends Error {
  override name = "UpstreamHttpError";
  readonly service: string;
  readonly status?: number;
  /** How long the upstream asked us to wait (`Retry-After`), in ms. */
  readonly retryAfterMs?: number;
  constructor(message: string, { service, status, retryAfterMs, ...options }: UpstreamErrorOptions & {
    retryAfterMs?: number;
  }) {
    super(message, options);
    this.service = service;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
  /** Network failures (no status) and the transient statuses (408, 425, 429, 5xx) are worth retrying. */
  get transient(): boolean {
    return this.status === undefined || isTransientStatus(this.status);
  }
}

/**
 * The upstream understood the request and refused it (an API-level error
 * code), or the hub refused to send it (code `address_refused`).
 *
 * @example
 * throw new UpstreamApiError("Bitrix24 rejected the webhook", { service: "Bitrix24", code: "NO_AUTH_FOUND", status: 401 });
 */
export class UpstreamApiError extends Error {
  override name = "UpstreamApiError";
  readonly service: string;
  readonly code: string;
  readonly status?: number;
  /** Whether retrying can help (the service's own rate-limit codes); default false. */
  readonly transient: boolean;
  constructor(message: string, { service, code, status, transient = false, ...options }: UpstreamErrorOptions & {
    code: string;
    transient?: boolean;
  }) {
    super(message, options);
    this.service = service;
    this.code = code;
    this.status = status;
    this.transient = transient;
  }
}

/** A job failed in a way that retrying cannot fix: dead-letter it at once. */
export class TerminalJobError extends Error {
  override name = "TerminalJobError";
}

/**
 * True when an error is worth retrying: an upstream error that says so
 * (network, timeouts, 408/425/429, 5xx, a service's rate-limit codes) or an
 * HTTP error of the 5xx kind. Anything else — a programmer's mistake, a
 * terminal job error, an error nobody classified — is not: retrying a bug
 * only repeats it.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof UpstreamHttpError) return error.transient;
  if (error instanceof UpstreamApiError) return error.transient;
  if (error instanceof HttpError) return error.status >= 500;
  return false;
}

/**
 * Whether a queue job that threw may run again (within its kind's attempts):
 * not for a terminal job error or an upstream error that is not transient
 * (retrying cannot change the answer); yes for a transient one; and yes for
 * an unclassified error, because a crash mid-handler (a KV commit that kept
 * conflicting, a dropped database connection) is what bounded queue retries
 * exist for — unlike a client's retry loop, where such an error is a bug.
 */
export function isRetryableJobError(error: unknown): boolean {
  if (error instanceof TerminalJobError) return false;
  if (error instanceof UpstreamHttpError || error instanceof UpstreamApiError || error instanceof HttpError) {
    return isTransientError(error);
  }
  return true;
}

/** Cuts an upstream body for an error message so logs stay readable. */
export function excerpt(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
