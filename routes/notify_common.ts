/** What the notification routes (notify.ts, notify_mail.ts) share: response shapes and the one delete route. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { bearer, createRoute, errorResponses, z } from "./openapi.ts";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";
import { NotFoundError } from "../lib/errors.ts";
import { audit } from "../lib/accounts/audit.ts";

export const json = <S extends z.ZodType>(schema: S, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});

export const idParam = z.object({ id: z.string().min(1).max(100) });

export const notFound = (what: string) => ({
  404: json(z.object({ error: z.unknown() }), `No such ${what} in this organization`),
});

/**
 * `DELETE {path}/{id}`: `remove` answers whether the organization had it (404
 * naming `what` otherwise); a removal is audited as `action` with the id.
 */
export function deleteRoute(
  app: OpenAPIHono<AppEnv>,
  hub: Hub,
  { path, what, summary, action, remove }: {
    path: string;
    what: string;
    summary: string;
    action: string;
    remove: (org: string, id: string) => Promise<boolean>;
  },
): void {
  app.openapi(
    createRoute({
      method: "delete",
      path: `${path}/{id}`,
      tags: ["Notifications"],
      summary,
      security: bearer,
      request: { params: idParam },
      responses: { 204: { description: "Removed" }, ...notFound(what), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { id } = c.req.valid("param");
      if (!(await remove(auth.org, id))) throw new NotFoundError(what);
      await audit(hub.kv, auth.org, auth.actor, action, { target: id });
      return c.body(null, 204);
    },
  );
}
