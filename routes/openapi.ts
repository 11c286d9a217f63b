/**
 * OpenAPI sub-apps: every API route is declared with zod (`createRoute`), so
 * `/openapi.json` is generated from the same schemas that validate requests.
 * A schema violation answers 422 naming each bad field.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "./app_env.ts";
import { errorBody, invalidRequest } from "./errors.ts";

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

/** The error shape, for documenting responses. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "validation_failed" }),
    message: z.string(),
    details: z.unknown().optional(),
  }),
}).openapi("Error");

/** Standard error responses to spread into a route's `responses`. */
export const errorResponses = {
  400: { description: "Invalid JSON", content: { "application/json": { schema: errorSchema } } },
  401: { description: "No or invalid token", content: { "application/json": { schema: errorSchema } } },
  403: { description: "Role too low", content: { "application/json": { schema: errorSchema } } },
  422: {
    description: "Schema violation; details name each field",
    content: { "application/json": { schema: errorSchema } },
  },
} as const;

/** An id from the URL path: it becomes a KV key part, so it stays far below KV's 2 KiB key limit. */
export const pathId = z.string().min(1).max(100);

/** A resume point the API handed out (a ULID record id); empty means "from the start". */
export const resumeId = z.string().regex(/^(?:[0-9A-HJKMNP-TV-Z]{26})?$/, "must be an id from an earlier answer");

/** Bearer token security requirement for route declarations. */
export const bearer = [{ bearerAuth: [] }];
