/** General organization settings (time zone, private-network policy). */
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { generalSettings, generalSettingsSchema } from "../lib/general_settings.ts";
import { audit } from "../lib/accounts/audit.ts";

const settingsOut = z.object({ timezone: z.string(), allowPrivateNetworks: z.boolean() }).openapi("GeneralSettings");

export function settingsRoutes(hub: Hub) {
  const app = newApi();
  app.use("/settings/general", requireRoles("viewer", "admin"));
  app.openapi(
    createRoute({
      method: "get",
      path: "/settings/general",
      tags: ["Settings"],
      summary: "General settings of the organization",
      security: bearer,
      responses: {
        200: { description: "OK", content: { "application/json": { schema: settingsOut } } },
        ...errorResponses,
      },
    }),
    async (c) => c.json(await generalSettings(hub, c.var.auth.org), 200),
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/settings/general",
      tags: ["Settings"],
      summary: "Change general settings",
      security: bearer,
      request: {
        body: { content: { "application/json": { schema: generalSettingsSchema.partial().strict() } } },
      },
      responses: {
        200: { description: "OK", content: { "application/json": { schema: settingsOut } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const auth = c.var.auth;
      await hub.settings.write(auth.org, "general", body);
      await audit(hub.kv, auth.org, auth.actor, "settings.changed", { target: "general", details: body });
      return c.json(await generalSettings(hub, auth.org), 200);
    },
  );
  return app;
}
