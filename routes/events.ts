/**
 * `/api/v1/events`: the organization's events as server-sent events (over
 * `hub.events.stream()`, which does resume, back-pressure, heartbeats and
 * dedupe), the newest stored events, custom events, and the event catalogue.
 */
import { streamSSE } from "hono/streaming";
import { bearer, createRoute, errorResponses, newApi, resumeId, z } from "./openapi.ts";
import { requireRoles } from "./middleware/auth.ts";
import { ValidationError } from "../lib/errors.ts";
import type { Hub } from "../lib/hub.ts";
import { CUSTOM_TYPE, definitionOf, describeCatalogue } from "../lib/events/mod.ts";
import type { CustomEventType } from "../lib/events/types.ts";

const eventSchema = z.object({
  id: z.string(),
  org: z.string(),
  type: z.string(),
  at: z.string(),
  data: z.record(z.string(), z.unknown()),
}).openapi("Event");

const typesParam = z.string().max(1000).optional().openapi({
  description:
    "Comma-separated types from GET /api/v1/events/types (or custom.<name>); a trailing * matches a prefix (task.*)",
  example: "task.*,schedule.run",
});

/** The `types` filter as a list; an exact type that is not in the catalogue is a 422 naming it. */
function parseTypes(raw?: string): string[] | undefined {
  const list = raw?.split(",").map((t) => t.trim()).filter(Boolean);
  if (!list?.length) return undefined;
  const unknown = list.filter((t) => !t.endsWith("*") && !definitionOf(t));
  if (unknown.length) {
    const message = `unknown event type ${unknown.join(", ")} (see GET /api/v1/events/types)`;
    throw new ValidationError([{ field: "types", message }]);
  }
  return list;
}

const typeInfoSchema = z.object({
  type: z.string().openapi({ example: "task.failed" }),
  title: z.object({ ru: z.string(), en: z.string() }),
  description: z.string(),
  schema: z.record(z.string(), z.unknown()).openapi({ description: "JSON Schema of the event's data" }),
  fields: z.array(z.object({
    path: z.string().openapi({ example: "responsible.name" }),
    type: z.string().openapi({ example: "string|null" }),
    required: z.boolean(),
  })).openapi({ description: "The data's fields as dotted paths, for rule conditions" }),
}).openapi("EventType");

export function eventRoutes(hub: Hub) {
  const app = newApi();
  app.use("/events/*", requireRoles("viewer", "operator"));

  app.openapi(
    createRoute({
      method: "get",
      path: "/events",
      tags: ["Events"],
      summary: "Live event stream (SSE); resumable with Last-Event-ID",
      description: "Each event is sent with `id:` (resume point), `event:` (its type; left out with plain=1) and " +
        "`data:` (JSON). The comment `: open` says the subscription is attached (nothing published later is missed); " +
        "`: ping` is a heartbeat. A client that reads slowly is not cut off: it catches up from the stored events.",
      security: bearer,
      request: {
        query: z.object({
          types: typesParam,
          after: resumeId.optional().openapi({ description: "Resume after this event id (like Last-Event-ID)" }),
          plain: z.enum(["0", "1"]).optional(),
        }),
        headers: z.object({ "last-event-id": resumeId.optional() }),
      },
      responses: {
        200: { description: "text/event-stream", content: { "text/event-stream": { schema: z.string() } } },
        ...errorResponses,
      },
    }),
    (c) => {
      const org = c.var.auth.org;
      const q = c.req.valid("query");
      const types = parseTypes(q.types);
      const plain = q.plain === "1";
      const afterId = c.req.valid("header")["last-event-id"] || q.after || undefined;
      hub.metrics.inc("shlyuz_sse_connections_total");
      const gone = new AbortController();
      // On shutdown the stream ends, so the server can drain; clients reconnect and resume.
      const signal = AbortSignal.any([gone.signal, hub.shutdownSignal]);
      const items = hub.events.stream(org, { afterId, types, signal });
      // The first item is "open": the subscription is attached before the response headers go
      // out, so a client that has the headers (EventSource's onopen) misses nothing published later.
      const opened = items.next();
      return opened.then(() =>
        streamSSE(c, async (sse) => {
          sse.onAbort(() => gone.abort());
          await sse.write("retry: 3000\n\n: open\n\n");
          for await (const item of items) {
            if (item.kind === "heartbeat") await sse.write(": ping\n\n");
            else if (item.kind === "event") {
              const e = item.event;
              await sse.writeSSE({ id: e.id, event: plain ? undefined : e.type, data: JSON.stringify(e) });
            }
          }
        })
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/events/types",
      tags: ["Events"],
      summary: "The event catalogue: every event type with its title, description and data fields",
      description: "For rules and filters: each type's data as JSON Schema and as dotted field paths. " +
        "`custom.*` stands for every custom.<name> type (free-form data).",
      security: bearer,
      responses: {
        200: {
          description: "OK",
          content: { "application/json": { schema: z.object({ items: z.array(typeInfoSchema) }) } },
        },
        ...errorResponses,
      },
    }),
    (c) => c.json({ items: describeCatalogue() }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/events",
      tags: ["Events"],
      summary: "Publish a custom event (type custom.*), e.g. to test rules and live pages",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z.object({
                type: z.string().regex(CUSTOM_TYPE, "must look like custom.<name>"),
                data: z.record(z.string(), z.unknown()).default({}),
              }).strict(),
            },
          },
        },
      },
      responses: {
        201: { description: "Published", content: { "application/json": { schema: eventSchema } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      if (JSON.stringify(body.data).length > 16_000) {
        throw new ValidationError([{ field: "data", message: "too large (16 000 characters at most)" }]);
      }
      const event = await hub.events.publish(c.var.auth.org, body.type as CustomEventType, body.data);
      // The body passed the same check the catalogue makes, so the bus cannot refuse it.
      if (!event) throw new Error(`Cannot publish custom event ${body.type}: the bus refused it`);
      return c.json(event, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/events/recent",
      tags: ["Events"],
      summary: "The newest stored events, newest first",
      security: bearer,
      request: {
        query: z.object({ types: typesParam, limit: z.coerce.number().int().min(1).max(500).default(50) }),
      },
      responses: {
        200: {
          description: "OK",
          content: { "application/json": { schema: z.object({ items: z.array(eventSchema) }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const items = await hub.events.recent(c.var.auth.org, { types: parseTypes(q.types), limit: q.limit });
      return c.json({ items }, 200);
    },
  );
  return app;
}
