/**
 * 1C → Bitrix24 over HTTP. `POST /` (the replaced service's address) and
 * `POST /api/v1/onec/tasks` take 1C's tasks with the old answers:
 * 200 `{"message":"ok"}`, 200 `{"message":"При обновлении задачи произошла ошибка"}`,
 * 500 with a plain-text reason; new: 422 naming the wrong fields.
 * The rest is for the admin page: settings, intake log, load board, caches.
 */
import type { Context } from "hono";
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { errorBody, invalidRequest } from "./errors.ts";
import { requireRole } from "./middleware/auth.ts";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";
import { ConflictError, ValidationError } from "../lib/errors.ts";
import { audit } from "../lib/accounts/audit.ts";
import { parseWebhookUrl } from "../lib/bitrix/client.ts";
import { orgUrlProblem } from "../lib/http/org_url.ts";
import { UPDATE_FAILED_MESSAGE } from "../lib/onec/intake.ts";
import { onecRequestSchema, sampleRequest } from "../lib/onec/request_schema.ts";
import { NOT_CONFIGURED_MESSAGE } from "../lib/onec/service.ts";
import { onecSettingsSchema, SECRET_FIELDS, SETTINGS_SECTION } from "../lib/onec/settings.ts";

// zod 4 binds methods to a schema when it is created, so a schema built in lib/ before
// @hono/zod-openapi was first imported has no `.openapi`; `.extend({})` makes a fresh copy here.
const requestBody = onecRequestSchema.extend({}).openapi("OnecRequest", { example: sampleRequest });
const messageSchema = z.object({ message: z.string() }).openapi("OnecAnswer");

const intakeResponses = {
  200: {
    description: '`{"message":"ok"}` — every task was created or updated; ' +
      `\`{"message":"${UPDATE_FAILED_MESSAGE}"}\` — an existing task could not be updated (see the intake log)`,
    content: {
      "application/json": {
        schema: messageSchema,
        examples: {
          ok: { value: { message: "ok" } },
          updateFailed: { value: { message: UPDATE_FAILED_MESSAGE } },
        },
      },
    },
  },
  500: {
    description: "A task could not be created: the reason and the request id, as plain text",
    content: { "text/plain": { schema: z.string() } },
  },
  ...errorResponses,
} as const;

/** The shared handler of both intake addresses. */
async function intake(hub: Hub, c: Context<AppEnv>, body: z.output<typeof onecRequestSchema>) {
  const requestId = c.var.requestId;
  const res = await hub.onec.intake(c.var.auth.org, body, { requestId });
  if (res.outcome === "failed") {
    c.var.log.error("1C request failed", { requestId, failure: res.failure });
    return c.text(res.failure ?? "Ошибка", 500);
  }
  return c.json({ message: res.outcome === "ok" ? "ok" : UPDATE_FAILED_MESSAGE }, 200);
}

/**
 * The validation hook of both intake addresses: the 422 answer as everywhere,
 * and first an intake-log entry, so a 1C developer sees why a request bounced.
 */
function rejected(hub: Hub) {
  // deno-lint-ignore no-explicit-any
  return async (result: { success: boolean; error?: unknown }, c: Context<AppEnv>): Promise<any> => {
    if (result.success) return;
    const e = invalidRequest(result.error as z.ZodError);
    let raw: unknown = null;
    try {
      raw = await c.req.json(); // already parsed by the validator: Hono hands back the cached body
    } catch { /* no readable body: the entry lists no tasks */ }
    await hub.onec.logRejected(c.var.auth.org, raw, e.message, { requestId: c.var.requestId });
    return c.json(errorBody(e.code, e.message, e.details), 422);
  };
}

/** `POST /` — where 1C already sends its tasks. Mount at the root. */
export function onecLegacyRoutes(hub: Hub) {
  const app = newApi();
  app.use("/", async (c, next) => {
    if (c.req.method !== "POST") return await next();
    return await requireRole("operator")(c, next);
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags: ["1C → Bitrix24"],
      summary: "1C tasks into Bitrix24 (the address 1C already uses)",
      security: bearer,
      request: { body: { required: true, content: { "application/json": { schema: requestBody } } } },
      responses: intakeResponses,
    }),
    // deno-lint-ignore no-explicit-any
    (c) => intake(hub, c, c.req.valid("json")) as any,
    rejected(hub),
  );
  return app;
}

const settingsIn = onecSettingsSchema.omit({ timeZone: true }).partial().extend({
  webhookUrl: z.string().trim().url().refine((u) => {
    try {
      parseWebhookUrl(u);
      return true;
    } catch {
      return false;
    }
  }, "must look like https://PORTAL/rest/USER_ID/CODE/").or(z.literal("")).optional(),
  fallbackUserId: z.coerce.number().int().positive().or(z.literal("")).optional(),
  defaultAuthorId: z.coerce.number().int().positive().or(z.literal("")).optional(),
  diskFolderId: z.coerce.number().int().positive().or(z.literal("")).optional(),
}).strict().openapi("OnecSettingsInput");

/** The API under /api/v1/onec. */
export function onecRoutes(hub: Hub) {
  const app = newApi();
  app.use("/onec/tasks", requireRole("operator"));
  app.use("/onec/cache/refresh", requireRole("operator"));
  app.use("/onec/settings", (c, next) => requireRole(c.req.method === "GET" ? "viewer" : "admin")(c, next));
  app.use("/onec/log", requireRole("viewer"));
  app.use("/onec/load", requireRole("viewer"));
  app.use("/onec/cache", requireRole("viewer"));

  app.openapi(
    createRoute({
      method: "post",
      path: "/onec/tasks",
      tags: ["1C → Bitrix24"],
      summary: "1C tasks into Bitrix24",
      description: "The same handler as `POST /`. A re-sent task id updates its Bitrix24 task.",
      security: bearer,
      request: { body: { required: true, content: { "application/json": { schema: requestBody } } } },
      responses: intakeResponses,
    }),
    // deno-lint-ignore no-explicit-any
    (c) => intake(hub, c, c.req.valid("json")) as any,
    rejected(hub),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/onec/settings",
      tags: ["1C → Bitrix24"],
      summary: "Settings (the webhook URL masked)",
      security: bearer,
      responses: {
        200: { description: "OK", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
        ...errorResponses,
      },
    }),
    async (c) => c.json(await maskedSettings(hub, c.var.auth.org), 200),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/onec/settings",
      tags: ["1C → Bitrix24"],
      summary: "Change settings; an empty value resets a field to its default",
      security: bearer,
      request: { body: { required: true, content: { "application/json": { schema: settingsIn } } } },
      responses: {
        200: { description: "OK", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json") as Record<string, unknown>;
      const auth = c.var.auth;
      // The hub calls this URL from the server: the outgoing-address policy applies (no metadata or
      // link-local; private networks only when the organization allows them).
      if (typeof body.webhookUrl === "string" && body.webhookUrl !== "") {
        const problem = await orgUrlProblem(hub, auth.org, body.webhookUrl);
        if (problem) {
          throw new ValidationError([{ field: "webhookUrl", message: problem }], { prefix: "Invalid settings" });
        }
      }
      await hub.settings.write(auth.org, SETTINGS_SECTION, body, SECRET_FIELDS);
      const details = { ...body, ...(body.webhookUrl ? { webhookUrl: "••••" } : {}) };
      await audit(hub.kv, auth.org, auth.actor, "settings.changed", { target: SETTINGS_SECTION, details });
      return c.json(await maskedSettings(hub, auth.org), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/onec/log",
      tags: ["1C → Bitrix24"],
      summary: "Intake log, newest first",
      security: bearer,
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
      responses: {
        200: {
          description: "OK",
          content: { "application/json": { schema: z.object({ items: z.array(z.unknown()) }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => c.json({ items: await hub.onec.readLog(c.var.auth.org, c.req.valid("query").limit) }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/onec/load",
      tags: ["1C → Bitrix24"],
      summary: "Load per Production section: open tasks and who is away (one Bitrix24 batch)",
      security: bearer,
      responses: {
        200: {
          description: "OK",
          content: { "application/json": { schema: z.object({ sections: z.array(z.unknown()) }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => c.json({ sections: await hub.onec.loadBoard(c.var.auth.org) }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/onec/cache",
      tags: ["1C → Bitrix24"],
      summary: "Cached Bitrix24 data and when it expires",
      security: bearer,
      responses: {
        200: {
          description: "OK",
          content: { "application/json": { schema: z.object({ items: z.array(z.unknown()) }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => c.json({ items: await hub.onec.cacheState(c.var.auth.org) }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/onec/cache/refresh",
      tags: ["1C → Bitrix24"],
      summary: "Reload every cache from Bitrix24 now",
      security: bearer,
      responses: {
        200: {
          description: "OK",
          content: {
            "application/json": { schema: z.object({ requests: z.number(), refreshed: z.array(z.string()) }) },
          },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const settings = await hub.onec.settings(c.var.auth.org);
      if (!settings.webhookUrl) throw new ConflictError(`Cannot refresh: ${NOT_CONFIGURED_MESSAGE}`);
      return c.json(await hub.onec.refreshCaches(c.var.auth.org, { force: true }), 200);
    },
  );
  return app;
}

async function maskedSettings(hub: Hub, org: string) {
  const s = await hub.onec.settings(org);
  return { ...s, webhookUrl: s.webhookUrl ? maskWebhook(s.webhookUrl) : null };
}

/** Shows the portal and user of a webhook, never its code. */
export function maskWebhook(url: string): string {
  return url.replace(/(\/rest\/\d+\/)[^/]+/, "$1••••");
}
