/**
 * The one path from an error to a response. lib/ throws domain errors
 * (lib/errors.ts) and routes throw HttpError for what only HTTP knows (no
 * token, a body that is not JSON or not a form); `toHttpError` gives every one
 * of them its status and code, and `errorBody` builds the API's one error
 * shape `{ error: { code, message, details } }`.
 */
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UpstreamApiError,
  UpstreamHttpError,
  ValidationError,
} from "../lib/errors.ts";
import { invalidMessage, zodIssues } from "../lib/validation.ts";

/**
 * An error that is an HTTP answer, for what only routes know about (401
 * without a token, a body that is not JSON). Domain rules throw lib/errors.ts
 * errors instead.
 */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  constructor(status: number, code: string, message: string, { details, ...options }: ErrorOptions & {
    details?: unknown;
  } = {}) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The HTTP-only refusals routes use. */
export const httpErrors = {
  unauthorized: (message = "Cannot authenticate: send a valid API token or log in") =>
    new HttpError(401, "unauthorized", message),
  tooMany: (message: string) => new HttpError(429, "too_many_requests", message),
  unavailable: (message: string) => new HttpError(503, "unavailable", message),
};

/**
 * The error codes each status answers with, the first being the one the
 * OpenAPI document shows as its example (routes/openapi.ts). A 409 carries its
 * ConflictError's own code ("conflict" unless it says otherwise).
 */
export const ERROR_CODES: Readonly<Record<number, readonly [string, ...string[]]>> = {
  400: ["invalid_json", "invalid_form"],
  401: ["unauthorized"],
  403: ["forbidden", "csrf_failed"],
  404: ["not_found"],
  409: ["conflict", "last_owner"],
  413: ["payload_too_large"],
  422: ["validation_failed"],
  426: ["upgrade_required"],
  429: ["too_many_requests"],
  500: ["internal"],
  502: ["upstream_rejected"],
  503: ["upstream_unavailable", "unavailable", "busy"],
};

/** The API's error body. `details` is left out when there are none. */
export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}

/** 422 `validation_failed` naming every bad field of a zod error (request schemas, the OpenAPI validators). */
export function invalidRequest(error: z.ZodError): HttpError {
  const details = zodIssues(error);
  return new HttpError(422, "validation_failed", invalidMessage(details), { details, cause: error });
}

/**
 * The HTTP answer for an error, or null for an error nobody classified (a
 * bug: the caller logs it and answers 500 without its message).
 */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof ValidationError) {
    return new HttpError(422, "validation_failed", err.message, { details: err.fields, cause: err });
  }
  if (err instanceof z.ZodError) return invalidRequest(err);
  if (err instanceof NotFoundError) return new HttpError(404, "not_found", err.message, { cause: err });
  if (err instanceof ConflictError) {
    return new HttpError(409, err.code, err.message, { details: err.details, cause: err });
  }
  if (err instanceof ForbiddenError) return new HttpError(403, "forbidden", err.message, { cause: err });
  // An upstream the request needed failed: a gateway's answer, the upstream's words (clients keep secrets out of them).
  if (err instanceof UpstreamHttpError || err instanceof UpstreamApiError) {
    return err.transient
      ? new HttpError(503, "upstream_unavailable", err.message, { cause: err })
      : new HttpError(502, "upstream_rejected", err.message, { cause: err });
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 400 && /json/i.test(err.message)) {
      return new HttpError(400, "invalid_json", "Cannot parse the request body: it is not valid JSON", { cause: err });
    }
    return new HttpError(status, status === 400 ? "invalid_json" : "http_error", err.message || "Request failed", {
      cause: err,
    });
  }
  return null;
}
