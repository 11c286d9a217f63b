/** General organization settings (time zone, private-network policy). */
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { requireRole, requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { generalSettings, generalSettingsSchema } from "../lib/general_settings.ts";
import { audit } from "../lib/accounts/audit.ts";
import { CONNECTION_SERVICES, testConnection } from "../lib/connection_test.ts";

const connectionOut = z.object({
  ok: z.boolean(),
  service: z.enum(CONNECTION_SERVICES),
  ms: z.number().describe("How long the call took"),
  sample: z.string().optional().describe(
    "What came back: Bitrix24's number of departments, DaData's cleaned address, YandexGPT's reply",
  ),
  error: z.string().optional().describe("Why it failed, in the client's words (which setting to fix)"),
}).openapi("ConnectionTest");

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
      summary: "Change general settings (an empty timezone goes back to the environment default)",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              // "" clears the organization's own value: the environment's default (SHLYUZ_TIMEZONE) applies again.
              schema: z.object({
                timezone: z.union([z.literal(""), generalSettingsSchema.shape.timezone]).optional(),
                allowPrivateNetworks: z.boolean().optional(),
              }).strict(),
            },
          },
        },
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
  app.use("/settings/test/*", requireRole("admin"));
  app.openapi(
    createRoute({
      method: "post",
      path: "/settings/test/{service}",
      tags: ["Settings"],
      summary: "Test the connection to Bitrix24, DaData or YandexGPT with the organization's current settings",
      description:
        "One cheap call through the same client and outgoing-address policy the jobs use: Bitrix24 `department.get`, DaData one clean/email (a paid call), YandexGPT one short completion. Answers 200 with `ok: false` and the reason when the service refuses.",
      security: bearer,
      request: { params: z.object({ service: z.enum(CONNECTION_SERVICES) }) },
      responses: {
        200: { description: "The outcome", content: { "application/json": { schema: connectionOut } } },
        ...errorResponses,
      },
    }),
    async (c) => c.json(await testConnection(hub, c.var.auth.org, c.req.valid("param").service), 200),
  );
  return app;
}
