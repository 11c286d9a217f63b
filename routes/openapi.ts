/**
 * OpenAPI sub-apps: every API route is declared with zod (`createRoute`), so
 * `/openapi.json` is generated from the same schemas that validate requests.
 * A schema violation answers 422 naming each bad field.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "./app_env.ts";
import { ERROR_CODES, errorBody, invalidRequest } from "./errors.ts";
import { invalidMessage } from "../lib/validation.ts";

export { createRoute, z } from "@hono/zod-openapi";

/** A sub-app whose validation failures use the API's error shape. */
export function newApi(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const e = invalidRequest(result.error as unknown as z.ZodError);
        return c.json(errorBody(e.code, e.message, e.details), 422);
      }
    },
  });
}

/** The error shape, for documenting responses (each response shows an example of its own status). */
export const errorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ description: "Stable, machine-readable: programs branch on it" }),
    message: z.string().openapi({ description: "English, says what to fix; may change wording" }),
    details: z.unknown().optional(),
  }),
}).openapi("Error");

const EXAMPLE_FIELDS = [{ field: "name", message: "Too small: expected string to have >=1 characters" }];

/** What an error of each status reads like, for the document's examples (real messages of the hub). */
const EXAMPLE: Record<number, { message: string; details?: unknown }> = {
  400: { message: "Cannot parse the request body: it is not valid JSON" },
  401: { message: "Cannot authenticate: send a valid API token or log in" },
  403: { message: "Cannot do this: it needs the admin role, you have viewer" },
  404: { message: "Cannot find schedule" },
  409: { message: "Cannot save the schedule: it was changed at the same time; reload and try again" },
  413: { message: "Request body is larger than 1048576 bytes" },
  422: { message: invalidMessage(EXAMPLE_FIELDS), details: EXAMPLE_FIELDS },
  426: { message: "Cannot serve /connectors/ws: it takes WebSocket connections only" },
  429: { message: "Too many requests; retry later" },
  500: { message: "Internal error (request id 01KBCX3Z7T1S9Q4V0N2M8R6P5A)" },
  502: { message: "Cannot clean the phone: DaData answered 403 — check DADATA_API_KEY and DADATA_SECRET_KEY" },
  503: { message: "Cannot clean the phone: DaData did not answer within 10000 ms" },
};

/** The example error body of `status`: its first code from ERROR_CODES and a message of that kind. */
export function errorExample(status: number) {
  const code = ERROR_CODES[status]?.[0] ?? "http_error";
  const { message, details } = EXAMPLE[status] ?? { message: "Request failed" };
  return errorBody(code, message, details);
}

/** One documented error response of `status`, its example carrying that status's own code. */
export function errorResponse(status: number, description: string) {
  return { description, content: { "application/json": { schema: errorSchema, example: errorExample(status) } } };
}

/** Standard error responses to spread into a route's `responses`. */
export const errorResponses = {
  400: errorResponse(400, "Invalid JSON"),
  401: errorResponse(401, "No or invalid token"),
  403: errorResponse(403, "Role too low, or a session's write without its CSRF token"),
  422: errorResponse(422, "Schema violation; details name each field"),
} as const;

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * The generated document with every error response (4xx/5xx with a JSON
 * body) given the API's one error shape and an example of its own status,
 * where a route declared its error loosely (`{ error: unknown }`) or without
 * an example: one error shape for the whole API, also on paper.
 */
export function documentErrors<D extends { paths?: Json }>(doc: D): D {
  for (const operations of Object.values(doc.paths ?? {}) as Json[]) {
    for (const op of Object.values(operations ?? {}) as Json[]) {
      for (const [status, response] of Object.entries(op?.responses ?? {}) as Array<[string, Json]>) {
        const json = response?.content?.["application/json"];
        if (Number(status) < 400 || !json) continue;
        if (!json.schema?.$ref) json.schema = { $ref: "#/components/schemas/Error" };
        if (json.example === undefined && json.examples === undefined) json.example = errorExample(Number(status));
      }
    }
  }
  return doc;
}

/** Serves `/openapi.json` for `app`, built once on the first request (after every route is declared). */
export function serveOpenApi(
  app: OpenAPIHono<AppEnv>,
  info: { title: string; version: string; description: string },
): void {
  let doc: unknown;
  app.get("/openapi.json", (c) => c.json(doc ??= documentErrors(app.getOpenAPI31Document({ openapi: "3.1.0", info }))));
}

/** An id from the URL path: it becomes a KV key part, so it stays far below KV's 2 KiB key limit. */
export const pathId = z.string().min(1).max(100);

/** A resume point the API handed out (a ULID record id); empty means "from the start". */
export const resumeId = z.string().regex(/^(?:[0-9A-HJKMNP-TV-Z]{26})?$/, "must be an id from an earlier answer");

/** Bearer token security requirement for route declarations. */
export const bearer = [{ bearerAuth: [] }];
