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

/**
 * The upstream could not be reached or answered with a transport-level
 * failure (network error, timeout, 5xx, 429, unparseable body).
 */
export class UpstreamHttpError extends Error {
  override name = "UpstreamHttpError";
  constructor(
    readonly service: string,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  /** 429, 5xx and network failures (no status) are worth retrying. */
  get transient(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

/** The upstream understood the request and refused it (an API-level error code). */
export class UpstreamApiError extends Error {
  override name = "UpstreamApiError";
  constructor(
    readonly service: string,
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly transient = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A job failed in a way that retrying cannot fix: dead-letter it at once. */
export class TerminalJobError extends Error {
  override name = "TerminalJobError";
}

/** True when an error is worth retrying (network, timeouts, 429, 5xx). */
export function isTransientError(error: unknown): boolean {
  if (error instanceof TerminalJobError) return false;
  if (error instanceof UpstreamHttpError) return error.transient;
  if (error instanceof UpstreamApiError) return error.transient;
  if (error instanceof HttpError) return error.status >= 500;
  return true;
}

/** Cuts an upstream body for an error message so logs stay readable. */
export function excerpt(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
