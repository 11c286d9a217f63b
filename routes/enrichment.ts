/**
 * Enrichment API: `POST /tasks` (synchronous `{task_id, id}`, or 202 with
 * `Prefer: respond-async`), `POST /tasks/batch` (queued), the result log,
 * the rows browser, status and the per-organization settings.
 */
import { bearer, createRoute, errorResponses, errorSchema, newApi, resumeId, z } from "./openapi.ts";
import { requireRole, requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { NotFoundError, ValidationError } from "../lib/errors.ts";
import type { HonoRequest } from "hono";
import { HTTPException } from "hono/http-exception";
import { HttpError, invalidRequest } from "./errors.ts";
import { audit } from "../lib/accounts/audit.ts";
import { MAX_DATA_CHARS, type Task, taskResultSchema, taskSchema } from "../lib/enrichment/task_schema.ts";
import { TaskBusyError, TaskFailedError } from "../lib/enrichment/mod.ts";
import { secretsToResend, SECTIONS } from "../lib/enrichment/org_clients.ts";
import { orgUrlProblem } from "../lib/http/org_url.ts";
import { zodIssues } from "../lib/validation.ts";

// The same schema validates the queue and RabbitMQ paths, so it is plain zod (no OpenAPI extras).
const taskBody = taskSchema.meta({
  description: `task_type phone|email → DaData clean; gpt → YandexGPT. data: 1–${MAX_DATA_CHARS} characters.`,
  example: { task_id: 1, task_type: "phone", data: "раб 846)231.60.14 *139" },
});
// A copy made here has `.openapi()` (zod binds methods when a schema is created, and lib/ comes first).
const taskResult = taskResultSchema.extend({}).openapi("TaskResult");
const json = <T extends z.ZodType>(schema: T, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});
const err = (description: string) => json(errorSchema, description);
const rowSchema = z.object({
  id: z.int(),
  org: z.string(),
  task_id: z.int(),
  task_type: z.string(),
  source: z.string(),
  data: z.unknown(),
  created_at: z.string(),
}).openapi("Row");

/** The enrichment sub-app, mounted at /api/v1. */
export function enrichmentRoutes(hub: Hub) {
  const app = newApi();
  // One middleware per prefix: Hono's "/x/*" also matches "/x", and a second one would authenticate twice.
  app.use("/tasks/*", requireRole("operator"));
  app.use("/results", requireRole("viewer"));
  app.use("/rows/*", requireRole("viewer"));
  app.use("/enrichment/*", requireRoles("viewer", "admin"));

  // The hot path: documented like every route, but served by a plain handler that validates the body with the
  // same schema, the same 415/400/422 answers and bodies, without zod-openapi's generic pipeline (a zod parse of
  // every header, a media-type gate and a validator middleware per request).
  app.openAPIRegistry.registerPath(createRoute({
    method: "post",
    path: "/tasks",
    tags: ["Enrichment"],
    summary: "Process one task (synchronously, or queued with Prefer: respond-async)",
    security: bearer,
    request: {
      headers: z.object({ prefer: z.string().optional() }),
      body: { required: true, content: { "application/json": { schema: taskBody } } },
    },
    responses: {
      200: json(taskResult, "Stored; id is the row's primary key. A repeat of the same task returns the same id."),
      202: json(
        z.object({ task_id: z.int(), status: z.literal("accepted") }),
        "Queued; the result arrives on the result queue",
      ),
      409: err("The task_id was used with different content"),
      502: err("DaData or YandexGPT refused the task"),
      503: err("DaData or YandexGPT unavailable after retries"),
      ...errorResponses,
    },
  }));
  app.post("/tasks", async (c) => {
    const task = await readTask(c.req);
    const org = c.var.auth.org;
    if (/respond-async/i.test(c.req.header("prefer") ?? "")) {
      await hub.enrichment.processor.submit(org, [task], "rest");
      c.header("preference-applied", "respond-async");
      return c.json({ task_id: task.task_id, status: "accepted" as const }, 202);
    }
    try {
      return c.json(await hub.enrichment.processor.processNow(org, task), 200);
    } catch (error) {
      throw toHttp(error);
    }
  });

  app.openapi(
    createRoute({
      method: "post",
      path: "/tasks/batch",
      tags: ["Enrichment"],
      summary: "Queue up to 1,000 tasks; results arrive on the result queue",
      security: bearer,
      request: {
        body: {
          required: true,
          content: { "application/json": { schema: z.object({ tasks: z.array(taskBody).min(1).max(1000) }) } },
        },
      },
      responses: {
        202: json(z.object({ queued: z.int(), messages: z.int() }), "Queued"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { tasks } = c.req.valid("json");
      const messages = await hub.enrichment.processor.submit(c.var.auth.org, tasks, "batch");
      return c.json({ queued: tasks.length, messages }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/results",
      tags: ["Enrichment"],
      summary: "The result log after a cursor, oldest first",
      security: bearer,
      request: {
        query: z.object({
          after: resumeId.optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: {
        200: json(z.object({
          items: z.array(
            z.object({ cursor: z.string(), task_id: z.int(), id: z.int(), task_type: z.string(), at: z.string() }),
          ),
          cursor: z.string().optional().openapi({ description: "Pass as `after` to read on" }),
        })),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { after, limit } = c.req.valid("query");
      const items = await hub.enrichment.processor.results(c.var.auth.org, { after, limit });
      return c.json({ items, cursor: items.length ? items[items.length - 1].cursor : after }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/rows",
      tags: ["Enrichment"],
      summary: "Stored rows (integration_service), newest first",
      security: bearer,
      request: {
        query: z.object({
          type: z.enum(["phone", "email", "gpt"]).optional(),
          cursor: z.string().regex(/^\d{0,18}$/, "must be a cursor from an earlier answer").optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
      },
      responses: {
        200: json(z.object({ items: z.array(rowSchema), cursor: z.string().optional() })),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await hub.enrichment.sink.list(c.var.auth.org, c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/rows/{id}",
      tags: ["Enrichment"],
      summary: "One stored row",
      security: bearer,
      request: { params: z.object({ id: z.coerce.number().int().min(1) }) },
      responses: { 200: json(rowSchema), 404: err("No such row in this organization"), ...errorResponses },
    }),
    async (c) => {
      const row = await hub.enrichment.sink.get(c.var.auth.org, c.req.valid("param").id);
      if (!row) throw new NotFoundError("row");
      return c.json(row, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/enrichment/status",
      tags: ["Enrichment"],
      summary: "Sink, RabbitMQ bridge state and per-type counts",
      security: bearer,
      responses: { 200: json(z.record(z.string(), z.unknown())), ...errorResponses },
    }),
    async (c) => {
      const s = hub.enrichment;
      return c.json({ ...s.status(), stats: await s.processor.stats(c.var.auth.org) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/enrichment/settings",
      tags: ["Enrichment"],
      summary: "DaData, YandexGPT and webhook settings of the organization (secrets masked)",
      security: bearer,
      responses: { 200: json(z.record(z.string(), z.unknown())), ...errorResponses },
    }),
    async (c) => {
      const org = c.var.auth.org;
      const out: Record<string, unknown> = {};
      for (const section of Object.keys(SECTIONS)) out[section] = await hub.settings.masked(org, section);
      return c.json(out, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/enrichment/settings/{section}",
      tags: ["Enrichment"],
      summary:
        "Set DaData (apiKey, secretKey, baseUrl), YandexGPT (apiKey, folderId, model, systemPrompt, temperature, maxTokens, baseUrl) or webhook (webhookUrl, webhookSecret) settings; empty string clears a field",
      security: bearer,
      request: {
        params: z.object({ section: z.enum(["dadata", "yandexgpt", "enrichment"]) }),
        body: { required: true, content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
      },
      responses: { 200: json(z.object({ ok: z.literal(true) })), ...errorResponses },
    }),
    async (c) => {
      const { section } = c.req.valid("param");
      const body = c.req.valid("json");
      const cleared = Object.fromEntries(Object.entries(body).filter(([, v]) => v === "" || v === null));
      const rest = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== "" && v !== null));
      const parsed = SECTIONS[section].schema.partial().strict().safeParse(rest);
      if (!parsed.success) {
        throw new ValidationError(zodIssues(parsed.error), { prefix: `Invalid ${section} settings` });
      }
      const auth = c.var.auth;
      // The hub calls these URLs from the server: the outgoing-address policy applies (no metadata or
      // link-local; private networks only when the organization allows them).
      const urlIssues: Array<{ field: string; message: string }> = [];
      for (const field of ["baseUrl", "webhookUrl"] as const) {
        const value = (parsed.data as Record<string, unknown>)[field];
        if (typeof value !== "string") continue;
        const problem = await orgUrlProblem(hub, auth.org, value);
        if (problem) urlIssues.push({ field, message: problem });
      }
      if (urlIssues.length) {
        throw new ValidationError(urlIssues, { prefix: `Invalid ${section} settings` });
      }
      // A stored secret must not silently follow the base URL to another origin: whoever changes the URL
      // without knowing the key would receive it.
      const envBaseUrl = section === "dadata"
        ? hub.config.DADATA_BASE_URL
        : section === "yandexgpt"
        ? hub.config.YANDEXGPT_BASE_URL
        : undefined;
      const resend = secretsToResend(section, await hub.settings.read(auth.org, section), body, envBaseUrl);
      if (resend.length) {
        const message = "the base URL moves to another origin; send this secret again (or clear it)";
        throw new ValidationError(resend.map((field) => ({ field, message })), {
          message: `Invalid ${section} settings: ${resend.join(", ")}: ${message}`,
        });
      }
      await hub.enrichment.writeSettings(auth.org, section, { ...parsed.data, ...cleared });
      // Field names only: the values may be secrets.
      await audit(hub.kv, auth.org, auth.actor, "settings.changed", {
        target: section,
        details: { fields: Object.keys(body) },
      });
      return c.json({ ok: true as const }, 200);
    },
  );
  return app;
}

/** JSON media types, as the OpenAPI routes accept them (parameters such as `charset` allowed). */
const JSON_REQUEST = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/**
 * The task in a `POST /tasks` body, answered as the OpenAPI routes answer: another media type (or a body without
 * one) is 415, JSON that does not parse is 400, a task the schema refuses is 422 naming each field.
 */
async function readTask(req: HonoRequest): Promise<Task> {
  const type = req.header("content-type");
  let value: unknown = {};
  if (type) {
    if (!JSON_REQUEST.test(type)) throw new HTTPException(415, { message: "Unsupported Media Type" });
    try {
      value = await req.json();
    } catch {
      throw new HTTPException(400, { message: "Malformed JSON in request body" });
    }
  } else if (req.raw.body !== null && (await req.arrayBuffer()).byteLength > 0) {
    throw new HTTPException(415, { message: "Unsupported Media Type" });
  }
  const parsed = taskSchema.safeParse(value);
  if (!parsed.success) throw invalidRequest(parsed.error);
  return parsed.data as Task;
}

/** Maps the processor's errors to the API's statuses (a TaskConflictError is a ConflictError: 409 as it is). */
function toHttp(error: unknown): unknown {
  if (error instanceof TaskFailedError) {
    return error.transient
      ? new HttpError(503, "upstream_unavailable", error.message, { details: { task_id: error.taskId } })
      : new HttpError(502, "upstream_rejected", error.message, { details: { task_id: error.taskId } });
  }
  if (error instanceof TaskBusyError) {
    return new HttpError(503, "busy", error.message, { details: { task_id: error.taskId } });
  }
  return error;
}
