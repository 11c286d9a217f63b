/**
 * `GET /api/v1/events`: the organization's events as server-sent events.
 *
 * Each client gets its own small buffer fed by the bus and drained by its own
 * write loop, so a slow client never holds up the others; a client that falls
 * too far behind is closed and resumes from KV with `Last-Event-ID`.
 */
import { streamSSE } from "hono/streaming";
import { bearer, createRoute, errorResponses, newApi, resumeId, z } from "./openapi.ts";
import { requireRoles } from "./middleware/auth.ts";
import { ValidationError } from "../lib/errors.ts";
import type { Hub } from "../lib/hub.ts";
import { type HubEvent, matchesType } from "../lib/events.ts";

const MAX_BUFFER = 5000;

const eventSchema = z.object({
  id: z.string(),
  org: z.string(),
  type: z.string(),
  at: z.string(),
  data: z.record(z.string(), z.unknown()),
}).openapi("Event");

const typesParam = z.string().max(1000).optional().openapi({
  description: "Comma-separated types; a trailing * matches a prefix (task.*)",
  example: "task.*,schedule.run",
});

function parseTypes(raw?: string): string[] | undefined {
  const list = raw?.split(",").map((t) => t.trim()).filter(Boolean);
  return list && list.length ? list : undefined;
}

export function eventRoutes(hub: Hub) {
  const app = newApi();
  app.use("/events/*", requireRoles("viewer", "operator"));

  app.openapi(
    createRoute({
      method: "get",
      path: "/events",
      tags: ["Events"],
      summary: "Live event stream (SSE); resumable with Last-Event-ID",
      description:
        "Each event is sent with `id:` (resume point), `event:` (its type; left out with plain=1) and `data:` (JSON). A comment line is sent as a heartbeat.",
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
    // deno-lint-ignore no-explicit-any
    ((c: any) => {
      const org = c.var.auth.org as string;
      const q = c.req.valid("query");
      const types = parseTypes(q.types);
      const plain = q.plain === "1";
      const resumeFrom: string | undefined = c.req.header("last-event-id") || q.after || undefined;
      hub.metrics.inc("shlyuz_sse_connections_total");
      return streamSSE(c, async (stream) => {
        const buffer: HubEvent[] = [];
        let wake: (() => void) | null = null;
        let closed = false;
        let overflow = false;
        const unsubscribe = hub.events.subscribe(org, (e) => {
          if (types && !matchesType(e.type, types)) return;
          if (buffer.length >= MAX_BUFFER) overflow = true;
          else buffer.push(e);
          wake?.();
        });
        const onShutdown = () => {
          closed = true;
          wake?.();
        };
        stream.onAbort(onShutdown);
        // On shutdown the stream ends, so the server can drain; clients reconnect and resume.
        hub.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
        if (hub.shutdownSignal.aborted) closed = true;
        const send = (e: HubEvent) =>
          stream.writeSSE({ id: e.id, event: plain ? undefined : e.type, data: JSON.stringify(e) });
        let lastSent = resumeFrom;
        try {
          await stream.write("retry: 3000\n\n");
          if (resumeFrom) {
            for (const e of await hub.events.since(org, { afterId: resumeFrom, types })) {
              await send(e);
              lastSent = e.id;
            }
          }
          while (!closed && !overflow) {
            if (buffer.length === 0) {
              const timedOut = await new Promise<boolean>((resolve) => {
                const timer = setTimeout(() => resolve(true), hub.config.SHLYUZ_SSE_HEARTBEAT_MS);
                wake = () => {
                  clearTimeout(timer);
                  resolve(false);
                };
              });
              wake = null;
              if (timedOut && !closed) await stream.write(": ping\n\n");
              continue;
            }
            for (const e of buffer.splice(0)) {
              if (lastSent && e.id <= lastSent) continue; // already replayed from KV
              await send(e);
              lastSent = e.id;
            }
          }
        } finally {
          unsubscribe();
          hub.shutdownSignal.removeEventListener("abort", onShutdown);
        }
      });
    }) as never,
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
                type: z.string().regex(/^custom\.[a-z0-9_.-]{1,60}$/, "must look like custom.<name>"),
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
      return c.json(await hub.events.publish(c.var.auth.org, body.type, body.data), 201);
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
