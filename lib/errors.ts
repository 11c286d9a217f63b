/**
 * The few error classes callers actually catch. Programmer mistakes use the
 * built-in errors; everything that crosses a boundary is one of these:
 * domain errors (not found, conflict, forbidden, validation), upstream errors
 * (network/HTTP vs API, classified transient or not here and nowhere else)
 * and the terminal job error.
 */

import { type FieldIssue, invalidMessage } from "./validation.ts";

export type { FieldIssue } from "./validation.ts";

// Domain errors: what lib/ throws when a request cannot be done. They know
// nothing about HTTP; the one error handler in routes/ (routes/errors.ts)
// gives each its status and the API's error shape.

/**
 * The thing asked for does not exist (or is not the caller's to see).
 *
 * @example
 * throw new NotFoundError("schedule"); // "Cannot find schedule" → 404 not_found
 */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  /** What was looked for, in words ("schedule", "dead letter"). */
  readonly what: string;
  constructor(what = "object", options?: ErrorOptions) {
    super(`Cannot find ${what}`, options);
    this.what = what;
  }
}

/**
 * The request clashes with the current state (a duplicate, a concurrent
 * change, the last owner). `code` defaults to "conflict".
 *
 * @example
 * throw new ConflictError("Cannot remove the last owner", { code: "last_owner" }); // → 409 last_owner
 */
export class ConflictError extends Error {
  override name = "ConflictError";
  readonly code: string;
  readonly details?: unknown;
  constructor(message: string, { code = "conflict", details, ...options }: ErrorOptions & {
    code?: string;
    details?: unknown;
  } = {}) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/**
 * The caller is known but may not do this (role too low, an owner-only change).
 *
 * @example
 * throw new ForbiddenError("Cannot remove an owner: only owners can"); // → 403 forbidden
 */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
  constructor(message = "Cannot do this: your role is too low", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Input that breaks a rule, with every bad field named. The message is
 * "Invalid request" followed by "field: message; …" unless `prefix` names the operation
 * (or `message` says it in a sentence of its own).
 *
 * @example
 * throw new ValidationError([{ field: "cron", message: "5 fields" }], { prefix: "Cannot save schedule" });
 * // "Cannot save schedule: cron: 5 fields" → 422 validation_failed, details = the fields
 */
export class ValidationError extends Error {
  override name = "ValidationError";
  readonly fields: FieldIssue[];
  constructor(
    fields: FieldIssue[],
    { prefix, message, ...options }: ErrorOptions & {
      /** Replaces "Invalid request" before the fields. */
      prefix?: string;
      /** A whole sentence instead of the list of fields. */
      message?: string;
    } = {},
  ) {
    super(message ?? invalidMessage(fields, prefix), options);
    this.fields = fields;
  }
}

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
 * (network, timeouts, 408/425/429, 5xx, a service's rate-limit codes).
 * Anything else — a programmer's mistake, a
 * terminal job error, an error nobody classified — is not: retrying a bug
 * only repeats it.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof UpstreamHttpError) return error.transient;
  if (error instanceof UpstreamApiError) return error.transient;
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
  if (error instanceof UpstreamHttpError || error instanceof UpstreamApiError) return isTransientError(error);
  return true;
}

/** Cuts an upstream body for an error message so logs stay readable. */
export function excerpt(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
