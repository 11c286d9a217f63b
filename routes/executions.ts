/** The executions journal and the Overview dashboard as JSON (the panel's islands read these too). */
import { bearer, createRoute, errorResponses, newApi, resumeId, z } from "./openapi.ts";
import { requireRole } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { hasRole } from "../lib/accounts/roles.ts";
import { buildDashboard } from "../lib/dashboard/mod.ts";
import {
  BULK_MAX,
  EXEC_AREAS,
  EXEC_OUTCOMES,
  listExecutions,
  retryExecutions,
  retryMatching,
} from "../lib/executions/mod.ts";

const isoTime = z.string().refine(
  (v) => !Number.isNaN(Date.parse(v)),
  "must be an ISO date-time, e.g. 2026-12-02T10:00:00Z",
);

/** The journal's filters, shared by the list, the bulk retry and the page's URL. */
export const executionFilterSchema = z.object({
  area: z.enum(EXEC_AREAS).optional().openapi({
    description: "scheduler, enrichment, onec (1C requests) or dead (dead letters of every area)",
  }),
  outcome: z.enum(EXEC_OUTCOMES).optional().openapi({
    description: "ok, failed (errors, time-outs, dead letters, rejected requests) or other (running, skipped, missed)",
  }),
  from: isoTime.optional().openapi({ description: "from this time (inclusive)" }),
  to: isoTime.optional().openapi({ description: "until this time (exclusive)" }),
  q: z.string().trim().max(200).optional().openapi({
    description: "an id to find: 1C id, task_id, schedule name or id, run id, request id, dead-letter id",
  }),
});

const fieldSchema = z.object({ key: z.string(), value: z.string() });
const rowSchema = z.object({
  ref: z.string().openapi({ example: "dead:01KBCX3Z7T1S9Q4V0N2M8R6P5A" }),
  area: z.enum(EXEC_AREAS),
  id: z.string(),
  at: z.string(),
  outcome: z.enum(EXEC_OUTCOMES),
  status: z.string(),
  title: z.string(),
  reason: z.string().optional(),
  durationMs: z.number().optional(),
  dead: z.boolean(),
  retry: z.enum(["redrive", "run_again"]).optional(),
  fields: z.array(fieldSchema),
}).openapi("Execution");

const reportSchema = z.object({
  retried: z.number(),
  failed: z.number(),
  results: z.array(z.object({ ref: z.string(), ok: z.boolean(), result: z.string() })),
}).openapi("RetryReport");

const refSchema = z.string().regex(
  /^(dead|run|result|onec):[\w-]{1,100}$/,
  "must be a row ref such as dead:<id> or run:<id>",
);
const retryBody = z.object({
  refs: z.array(refSchema).min(1).max(BULK_MAX).optional(),
  filter: executionFilterSchema.optional(),
}).refine((b) => (b.refs === undefined) !== (b.filter === undefined), {
  message: "send either refs (rows to retry) or filter (retry every failed row it finds), not both",
  path: ["refs"],
}).openapi("RetryRequest");

export function executionRoutes(hub: Hub) {
  const app = newApi();
  app.use("/executions", requireRole("viewer"));
  app.use("/executions/retry", requireRole("operator"));
  app.use("/dashboard", requireRole("viewer"));

  app.openapi(
    createRoute({
      method: "get",
      path: "/executions",
      tags: ["Executions"],
      summary: "One journal of schedule runs, enrichment tasks, 1C requests and dead letters, newest first",
      description:
        "Filter by area, outcome and time range, search by id. Dead letters' payloads are shown to operators and above. " +
        "A page that found fewer rows than `limit` may still carry a `cursor`: the search read as far as it may in one answer.",
      security: bearer,
      request: {
        query: executionFilterSchema.extend({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: resumeId.optional(),
        }),
      },
      responses: {
        200: {
          description: "OK",
          content: {
            "application/json": { schema: z.object({ items: z.array(rowSchema), cursor: z.string().optional() }) },
          },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { limit, cursor, ...filter } = c.req.valid("query");
      const auth = c.var.auth;
      const page = await listExecutions(hub, auth.org, filter, {
        limit,
        cursor: cursor || undefined,
        payloads: hasRole(auth.role, "operator"),
      });
      return c.json(page, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/executions/retry",
      tags: ["Executions"],
      summary: "Retry failed rows: re-drive dead letters, run a failed run's schedule again",
      description:
        `Either \`refs\` (rows from GET /executions) or \`filter\` (every retryable failed row it finds, at most ${BULK_MAX}). ` +
        "A schedule is run again once per request however many of its runs failed. 1C requests are not retried here: 1C sends them again.",
      security: bearer,
      request: { body: { required: true, content: { "application/json": { schema: retryBody } } } },
      responses: {
        200: { description: "What became of each row", content: { "application/json": { schema: reportSchema } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const auth = c.var.auth;
      const report = body.refs
        ? await retryExecutions(hub, auth.org, body.refs, { actor: auth.actor })
        : await retryMatching(hub, auth.org, body.filter ?? {}, { actor: auth.actor });
      return c.json(report, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/dashboard",
      tags: ["Executions"],
      summary: "The Overview: health per area, hourly series of the last 24 h, overdue messages, first-run checklist",
      security: bearer,
      responses: {
        200: {
          description: "OK",
          content: { "application/json": { schema: z.record(z.string(), z.unknown()).openapi("Dashboard") } },
        },
        ...errorResponses,
      },
    }),
    async (c) => c.json(await buildDashboard(hub, c.var.auth.org) as unknown as Record<string, unknown>, 200),
  );
  return app;
}
