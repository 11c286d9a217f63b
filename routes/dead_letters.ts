/** Dead letters: list, inspect, re-drive, discard. */
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { requireRole } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { NotFoundError } from "../lib/errors.ts";
import { audit } from "../lib/accounts/audit.ts";

const deadLetterSchema = z.object({
  id: z.string(),
  org: z.string(),
  kind: z.string(),
  reason: z.string(),
  attempts: z.number(),
  failedAt: z.string(),
  envelope: z.unknown(),
}).openapi("DeadLetter");

const idParam = z.object({ id: z.string().min(1).max(100) });

export function deadLetterRoutes(hub: Hub) {
  const app = newApi();
  app.use("/dead-letters/*", (c, next) => requireRole(c.req.method === "DELETE" ? "admin" : "operator")(c, next));

  app.openapi(
    createRoute({
      method: "get",
      path: "/dead-letters",
      tags: ["Queue"],
      summary: "Messages that failed for good, newest first",
      security: bearer,
      request: {
        query: z.object({
          kind: z.string().max(100).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.string().optional(),
        }),
      },
      responses: {
        200: {
          description: "OK",
          content: {
            "application/json": {
              schema: z.object({ items: z.array(deadLetterSchema), cursor: z.string().optional() }),
            },
          },
        },
        ...errorResponses,
      },
    }),
    async (c) => c.json(await hub.queue.dead.list(c.var.auth.org, c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/dead-letters/{id}",
      tags: ["Queue"],
      summary: "One dead letter",
      security: bearer,
      request: { params: idParam },
      responses: {
        200: { description: "OK", content: { "application/json": { schema: deadLetterSchema } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const dl = await hub.queue.dead.get(c.var.auth.org, c.req.valid("param").id);
      if (!dl) throw new NotFoundError("dead letter");
      return c.json(dl, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/dead-letters/{id}/redrive",
      tags: ["Queue"],
      summary: "Put the message back on the queue with a fresh attempt count",
      security: bearer,
      request: { params: idParam },
      responses: {
        202: { description: "Re-queued", content: { "application/json": { schema: z.object({ id: z.string() }) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const auth = c.var.auth;
      if (!(await hub.queue.dead.redrive(auth.org, id))) throw new NotFoundError("dead letter");
      await audit(hub.kv, auth.org, auth.actor, "dead_letter.redriven", { target: id });
      return c.json({ id }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/dead-letters/{id}",
      tags: ["Queue"],
      summary: "Discard a dead letter",
      security: bearer,
      request: { params: idParam },
      responses: { 204: { description: "Discarded" }, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const auth = c.var.auth;
      if (!(await hub.queue.dead.discard(auth.org, id))) throw new NotFoundError("dead letter");
      await audit(hub.kv, auth.org, auth.actor, "dead_letter.discarded", { target: id });
      return c.body(null, 204);
    },
  );
  return app;
}
