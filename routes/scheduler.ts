/**
 * The Scheduler API: schedules (CRUD; viewer reads, admin writes), "Run now",
 * and the run history with the saved response of each run.
 */
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { NotFoundError } from "../lib/errors.ts";
import { audit } from "../lib/accounts/audit.ts";

const scheduleSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  cron: z.string().openapi({ example: "0 9 * * 1-5" }),
  timezone: z.string().openapi({ example: "Europe/Moscow" }),
  enabled: z.boolean(),
  action: z.unknown().openapi({ description: "`http` (method, url, headers with secrets masked, body) or `internal`" }),
  overlap: z.enum(["skip", "allow"]),
  catchUp: z.enum(["skip", "once"]),
  retry: z.object({ attempts: z.number(), backoffMs: z.number() }),
  timeoutMs: z.number(),
  revision: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  nextRunAt: z.string().nullable(),
  nextRunLocal: z.string().nullable().openapi({ example: "2025-06-03 09:00:00 Europe/Moscow (GMT+3)" }),
}).openapi("Schedule");

const runSchema = z.looseObject({
  id: z.string(),
  scheduleId: z.string(),
  scheduleName: z.string(),
  trigger: z.enum(["schedule", "catch_up", "manual"]),
  outcome: z.enum(["queued", "running", "ok", "failed", "timeout", "skipped", "missed"]),
  plannedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  timezone: z.string(),
  httpStatus: z.number().optional(),
  responseBody: z.string().optional(),
  reason: z.string().optional(),
}).openapi("ScheduleRun");

const idParam = z.object({ id: z.string().min(1).max(100) });
const json = <S extends z.ZodType>(schema: S, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});
const notFound = { 404: json(z.object({ error: z.unknown() }), "No such schedule or run in this organization") };

export function schedulerRoutes(hub: Hub) {
  const scheduler = hub.scheduler;
  const input = scheduler.inputSchema;
  const app = newApi();
  for (const path of ["/schedules", "/schedules/*", "/runs", "/runs/*"]) app.use(path, requireRoles("viewer", "admin"));

  app.openapi(
    createRoute({
      method: "get",
      path: "/schedules",
      tags: ["Scheduler"],
      summary: "Schedules of the organization, with their next run time",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(scheduleSchema) })), ...errorResponses },
    }),
    async (c) => c.json({ items: await scheduler.list(c.var.auth.org) }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/schedules",
      tags: ["Scheduler"],
      summary: "Create a schedule (takes effect at once)",
      description: "Invalid cron, unknown time zone, a URL that is not http(s), a body over the limit, " +
        "an unknown job or a refused address answer 422 naming the field.",
      security: bearer,
      request: { body: { content: { "application/json": { schema: input } }, required: true } },
      responses: { 201: json(scheduleSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const created = await scheduler.create(auth.org, c.req.valid("json"));
      await audit(hub.kv, auth.org, auth.actor, "schedule.created", {
        target: created.id,
        details: { name: created.name },
      });
      return c.json(created, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/schedules/{id}",
      tags: ["Scheduler"],
      summary: "One schedule",
      security: bearer,
      request: { params: idParam },
      responses: { 200: json(scheduleSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const s = await scheduler.get(c.var.auth.org, c.req.valid("param").id);
      if (!s) throw new NotFoundError("schedule");
      return c.json(s, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/schedules/{id}",
      tags: ["Scheduler"],
      summary: "Replace a schedule (takes effect at once; secret headers sent as •••• keep their value)",
      security: bearer,
      request: { params: idParam, body: { content: { "application/json": { schema: input } }, required: true } },
      responses: { 200: json(scheduleSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { id } = c.req.valid("param");
      const updated = await scheduler.update(auth.org, id, c.req.valid("json"));
      if (!updated) throw new NotFoundError("schedule");
      await audit(hub.kv, auth.org, auth.actor, "schedule.updated", { target: id });
      return c.json(updated, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/schedules/{id}",
      tags: ["Scheduler"],
      summary: 'Change some fields of a schedule, e.g. `{ "enabled": false }`',
      security: bearer,
      request: {
        params: idParam,
        body: {
          content: { "application/json": { schema: z.record(z.string(), z.unknown()).openapi("SchedulePatch") } },
          required: true,
        },
      },
      responses: { 200: json(scheduleSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { id } = c.req.valid("param");
      const updated = await scheduler.patch(auth.org, id, c.req.valid("json"));
      if (!updated) throw new NotFoundError("schedule");
      await audit(hub.kv, auth.org, auth.actor, "schedule.updated", { target: id });
      return c.json(updated, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/schedules/{id}",
      tags: ["Scheduler"],
      summary: "Delete a schedule (its run history stays until it expires)",
      security: bearer,
      request: { params: idParam },
      responses: { 204: { description: "Deleted" }, ...notFound, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { id } = c.req.valid("param");
      if (!(await scheduler.remove(auth.org, id))) throw new NotFoundError("schedule");
      await audit(hub.kv, auth.org, auth.actor, "schedule.deleted", { target: id });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/schedules/{id}/run",
      tags: ["Scheduler"],
      summary: "Run now: queues a run at once; poll GET /runs/{runId} or watch schedule.run events",
      security: bearer,
      request: { params: idParam },
      responses: { 202: json(runSchema, "Queued"), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { id } = c.req.valid("param");
      const run = await scheduler.runNow(auth.org, id);
      if (!run) throw new NotFoundError("schedule");
      await audit(hub.kv, auth.org, auth.actor, "schedule.run_now", { target: id, details: { runId: run.id } });
      return c.json(run, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/schedules/{id}/runs",
      tags: ["Scheduler"],
      summary: "Runs of a schedule, newest first (without response bodies)",
      security: bearer,
      request: {
        params: idParam,
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().max(500).optional(),
        }),
      },
      responses: {
        200: json(z.object({ items: z.array(runSchema), cursor: z.string().optional() })),
        ...notFound,
        ...errorResponses,
      },
    }),
    async (c) => {
      const org = c.var.auth.org;
      const { id } = c.req.valid("param");
      const page = await scheduler.listRuns(org, id, c.req.valid("query"));
      if (page.items.length === 0 && !(await scheduler.store.get(org, id))) throw new NotFoundError("schedule");
      return c.json(page, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/runs",
      tags: ["Scheduler"],
      summary: "The newest runs of every schedule (without response bodies)",
      security: bearer,
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
      responses: { 200: json(z.object({ items: z.array(runSchema) })), ...errorResponses },
    }),
    async (c) => c.json({ items: await scheduler.recentRuns(c.var.auth.org, c.req.valid("query")) }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/runs/{runId}",
      tags: ["Scheduler"],
      summary: "One run with the data it saved (status, response body, timings)",
      security: bearer,
      request: { params: z.object({ runId: z.string().min(1).max(100) }) },
      responses: { 200: json(runSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const run = await scheduler.getRun(c.var.auth.org, c.req.valid("param").runId);
      if (!run) throw new NotFoundError("run");
      return c.json(run, 200);
    },
  );
  return app;
}
