/**
 * The connector registry API: create (id, token and key shown once), list
 * with live status, rename, rotate credentials, revoke. The poll interval is
 * the organization's (routes/connectors_sla.ts, /sla/settings).
 * Viewers read; admins write. Revoking or rotating closes the live socket.
 */
import { bearer, createRoute, errorResponses, newApi, pathId, z } from "./openapi.ts";
import { requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { ConflictError, NotFoundError } from "../lib/errors.ts";
import { connectorInputSchema } from "../lib/connector/registry.ts";
import { CLOSE } from "../lib/connector/protocol.ts";

const lastJobSchema = z.object({
  id: z.string(),
  action: z.string(),
  filter: z.string().optional(),
  at: z.string(),
  outcome: z.enum(["ok", "failed", "expired"]),
  error: z.string().optional(),
  count: z.number().optional(),
});

const connectorSchema = z.object({
  id: z.string().openapi({ example: "con_01JAXJ5D3F0ZQ6S9V8R1M2N3P4" }),
  name: z.string(),
  tokenPrefix: z.string().openapi({ description: "First characters of the token, to tell tokens apart" }),
  createdAt: z.string(),
  createdBy: z.string(),
  rotatedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  status: z.object({
    state: z.enum(["online", "offline"]),
    version: z.string().nullable(),
    remoteAddress: z.string().nullable(),
    connectedSince: z.string().nullable(),
    lastSeen: z.string().nullable(),
    lastJob: lastJobSchema.nullable(),
    lastError: z.string().nullable(),
    agentIntervalSec: z.number().nullable().openapi({
      description: "The agent's INTERVAL env, seconds, as reported; the organization's interval decides the polls",
    }),
  }),
}).openapi("Connector");

const credentialsSchema = z.object({
  connector: connectorSchema,
  credentials: z.object({
    connectorId: z.string(),
    token: z.string().openapi({ description: "Shown once; stored only as a hash" }),
    key: z.string().openapi({ description: "Shown once; the HMAC key, sealed at rest, never sent by the agent" }),
  }),
  env: z.record(z.string(), z.string()).openapi({
    description: "The agent's environment: CONNECTOR_ID, TOKEN, KEY, SERVER (add URL, EMAIL, PASSWORD, filters)",
  }),
}).openapi("ConnectorCredentials");

const json = <S extends z.ZodType>(schema: S, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});
const notFound = { 404: json(z.object({ error: z.unknown() }), "No such connector in this organization") };
const idParam = z.object({ id: pathId });

/** The WebSocket URL agents dial: PUBLIC_URL when set, else the request's own origin. */
export function agentServerUrl(hub: Hub, requestUrl: string, forwardedProto?: string): string {
  const base = new URL(hub.config.PUBLIC_URL ?? requestUrl);
  const https = base.protocol === "https:" || forwardedProto === "https";
  return `${https ? "wss" : "ws"}://${base.host}/connectors/ws`;
}

export function connectorRoutes(hub: Hub) {
  const svc = hub.connectors;
  const app = newApi();
  for (const path of ["/connectors", "/connectors/*"]) app.use(path, requireRoles("viewer", "admin"));

  const withEnv = (c: { req: { url: string; header(n: string): string | undefined } }, creds: {
    connectorId: string;
    token: string;
    key: string;
  }) => ({
    CONNECTOR_ID: creds.connectorId,
    TOKEN: creds.token,
    KEY: creds.key,
    SERVER: agentServerUrl(hub, c.req.url, c.req.header("x-forwarded-proto")),
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/connectors",
      tags: ["Connectors"],
      summary: "Connectors of the organization with their live status",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(connectorSchema) })), ...errorResponses },
    }),
    async (c) => c.json({ items: await svc.registry.list(c.var.auth.org) }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/connectors",
      tags: ["Connectors"],
      summary: "Create a connector: its id, token and key are in this answer only",
      security: bearer,
      request: {
        body: { content: { "application/json": { schema: connectorInputSchema.extend({}) } }, required: true },
      },
      responses: { 201: json(credentialsSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { connector, credentials } = await svc.registry.create(auth.org, c.req.valid("json"), auth.actor);
      return c.json({ connector, credentials, env: withEnv(c, credentials) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/connectors/{id}",
      tags: ["Connectors"],
      summary: "One connector with its status",
      security: bearer,
      request: { params: idParam },
      responses: { 200: json(connectorSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const found = await svc.registry.getPublic(c.var.auth.org, c.req.valid("param").id);
      if (!found) throw new NotFoundError("connector");
      return c.json(found, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/connectors/{id}",
      tags: ["Connectors"],
      summary: "Rename a connector (its polls follow the organization's interval, PUT /api/v1/sla/settings)",
      security: bearer,
      request: {
        params: idParam,
        body: {
          content: { "application/json": { schema: connectorInputSchema.partial().extend({}) } },
          required: true,
        },
      },
      responses: { 200: json(connectorSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const updated = await svc.registry.update(auth.org, c.req.valid("param").id, c.req.valid("json"), auth.actor);
      if (!updated) throw new NotFoundError("connector");
      return c.json(updated, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/connectors/{id}/rotate",
      tags: ["Connectors"],
      summary: "New token and key (shown once); the old ones stop working and the live socket is closed",
      security: bearer,
      request: { params: idParam },
      responses: {
        200: json(credentialsSchema),
        409: json(z.object({ error: z.unknown() }), "The connector is revoked"),
        ...notFound,
        ...errorResponses,
      },
    }),
    async (c) => {
      const auth = c.var.auth;
      const id = c.req.valid("param").id;
      const res = await svc.registry.rotate(auth.org, id, auth.actor);
      if (!res) throw new NotFoundError("connector");
      if (res === "revoked") throw new ConflictError("Cannot rotate the connector: it is revoked; create a new one");
      svc.server.kick(auth.org, id, CLOSE.badCredentials);
      return c.json({ ...res, env: withEnv(c, res.credentials) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/connectors/{id}/revoke",
      tags: ["Connectors"],
      summary: "Revoke a connector for good: its socket is closed and it can no longer connect",
      security: bearer,
      request: { params: idParam },
      responses: { 200: json(connectorSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const id = c.req.valid("param").id;
      const revoked = await svc.registry.revoke(auth.org, id, auth.actor);
      if (!revoked) throw new NotFoundError("connector");
      svc.server.kick(auth.org, id, CLOSE.revoked);
      return c.json(revoked, 200);
    },
  );
  return app;
}
