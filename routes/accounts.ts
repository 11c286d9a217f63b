/** The access API: who am I, organizations, members and roles, API tokens, audit log. */
import { bearer, createRoute, errorResponses, newApi, pathId, z } from "./openapi.ts";
import { requireRole, requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { roleSchema } from "../lib/accounts/roles.ts";
import { hasRole } from "../lib/accounts/roles.ts";
import {
  addMember,
  changeRole,
  createOrg,
  emailSchema,
  getOrg,
  getUser,
  listMembers,
  membershipsOf,
  passwordSchema,
  removeMember,
} from "../lib/accounts/store.ts";
import {
  createToken,
  getToken,
  listTokens,
  OPERATOR_BINDING,
  revokeToken,
  type TokenBinding,
} from "../lib/accounts/tokens.ts";
import type { AuthInfo } from "./app_env.ts";
import { describeTokens } from "../lib/accounts/token_views.ts";
import { listAudit } from "../lib/accounts/audit.ts";
import { ForbiddenError, NotFoundError } from "../lib/errors.ts";
import { httpErrors } from "./errors.ts";

const json = <T extends z.ZodType>(schema: T, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});

const memberSchema = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  addedAt: z.string(),
}).openapi("Member");

const tokenSchema = z.object({
  id: z.string(),
  org: z.string(),
  name: z.string(),
  role: roleSchema.describe("The role the token was created with"),
  effectiveRole: roleSchema.nullable().describe(
    "What the token may do now: the lower of `role` and its creator's current role (operator tokens: `role`); null when it cannot authenticate (revoked, or its creator is no longer a member)",
  ),
  prefix: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  creator: z.object({
    kind: z.enum(["member", "operator"]),
    userId: z.string().optional(),
    email: z.string().optional().describe("Absent when the creator's user no longer exists"),
  }).describe(
    "Whose membership the token is bound to: a member (removing them revokes it, demoting them caps it) or the operator (SHLYUZ_ADMIN_TOKEN and tokens made with it)",
  ),
  lastUsedAt: z.string().optional(),
  revokedAt: z.string().optional(),
}).openapi("ApiToken");

/** The binding a token created by this caller gets: the person's membership, or the calling token's own binding. */
async function bindingOf(kv: Deno.Kv, auth: AuthInfo): Promise<TokenBinding> {
  if (auth.userId) return { kind: "member", userId: auth.userId };
  const caller = auth.tokenId ? await getToken(kv, auth.org, auth.tokenId) : null;
  return caller?.boundTo ?? OPERATOR_BINDING;
}

const orgSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string() }).openapi("Organization");

export function accountRoutes(_hub: Hub) {
  const app = newApi();

  app.use("/me", requireRole("viewer"));
  app.openapi(
    createRoute({
      method: "get",
      path: "/me",
      tags: ["Access"],
      summary: "Who is calling: organization, role, user",
      security: bearer,
      responses: {
        200: json(z.object({
          org: orgSchema,
          role: roleSchema,
          via: z.enum(["token", "session"]),
          user: z.object({ id: z.string(), email: z.string(), name: z.string() }).optional(),
        })),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { kv } = c.var.hub;
      const auth = c.var.auth;
      const org = await getOrg(kv, auth.org);
      if (!org) throw new NotFoundError("organization");
      const user = auth.userId ? await getUser(kv, auth.userId) : null;
      return c.json({
        org,
        role: auth.role,
        via: auth.via,
        user: user ? { id: user.id, email: user.email, name: user.name } : undefined,
      }, 200);
    },
  );

  // Reading is for every member; creating an organization is for owners — refused before the body is read.
  app.use("/orgs/*", requireRoles("viewer", "owner"));
  app.openapi(
    createRoute({
      method: "get",
      path: "/orgs",
      tags: ["Access"],
      summary: "Organizations the caller belongs to (a token sees its own only)",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(orgSchema.extend({ role: roleSchema })) })), ...errorResponses },
    }),
    async (c) => {
      const { kv } = c.var.hub;
      const auth = c.var.auth;
      if (auth.userId) {
        const items = (await membershipsOf(kv, auth.userId)).map(({ org, role }) => ({ ...org, role }));
        return c.json({ items }, 200);
      }
      const org = await getOrg(kv, auth.org);
      return c.json({ items: org ? [{ ...org, role: auth.role }] : [] }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/orgs",
      tags: ["Access"],
      summary: "Create an organization; the logged-in user becomes its owner",
      security: bearer,
      request: {
        body: {
          content: { "application/json": { schema: z.object({ name: z.string().trim().min(1).max(100) }).strict() } },
        },
      },
      responses: { 201: json(orgSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { kv } = c.var.hub;
      const auth = c.var.auth;
      if (!auth.userId) {
        throw new ForbiddenError("Cannot create an organization with an API token: log in as a person");
      }
      // New organizations are a tenant-level decision: only owners make them.
      if (auth.role !== "owner") throw new ForbiddenError("Cannot create an organization: only owners can");
      const owner = await getUser(kv, auth.userId);
      if (!owner) throw httpErrors.unauthorized();
      const org = await createOrg(kv, c.req.valid("json").name, { owner, actor: auth.actor });
      return c.json(org, 201);
    },
  );

  // Members: viewers read, admins write.
  // In Hono "/x/*" also matches "/x": one middleware per prefix, or it would run twice.
  app.use("/members/*", requireRoles("viewer", "admin"));
  app.openapi(
    createRoute({
      method: "get",
      path: "/members",
      tags: ["Access"],
      summary: "Members of the organization and their roles",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(memberSchema) })), ...errorResponses },
    }),
    async (c) => c.json({ items: await listMembers(c.var.hub.kv, c.var.auth.org) }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/members",
      tags: ["Access"],
      summary: "Add a member (creates the user when the e-mail is new; then a password is required)",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z.object({
                email: emailSchema,
                name: z.string().trim().max(100).optional(),
                password: passwordSchema.optional(),
                role: roleSchema,
              }).strict(),
            },
          },
        },
      },
      responses: { 201: json(memberSchema, "Added"), 409: json(z.unknown(), "Already a member"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const auth = c.var.auth;
      if (body.role === "owner" && auth.role !== "owner") throw new ForbiddenError("Only owners can add owners");
      const member = await addMember(c.var.hub.kv, auth.org, body, { actor: auth.actor });
      return c.json(member, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/members/{userId}",
      tags: ["Access"],
      summary: "Change a member's role",
      security: bearer,
      request: {
        params: z.object({ userId: pathId }),
        body: { content: { "application/json": { schema: z.object({ role: roleSchema }).strict() } } },
      },
      responses: { 200: json(z.object({ userId: z.string(), role: roleSchema })), ...errorResponses },
    }),
    async (c) => {
      const { userId } = c.req.valid("param");
      const { role } = c.req.valid("json");
      const auth = c.var.auth;
      await changeRole(c.var.hub.kv, auth.org, userId, role, { actor: auth.actor, actorRole: auth.role });
      return c.json({ userId, role }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/members/{userId}",
      tags: ["Access"],
      summary: "Remove a member",
      security: bearer,
      request: { params: z.object({ userId: pathId }) },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      await removeMember(c.var.hub.kv, auth.org, c.req.valid("param").userId, {
        actor: auth.actor,
        actorRole: auth.role,
      });
      return c.body(null, 204);
    },
  );

  app.use("/tokens/*", requireRole("admin"));
  app.openapi(
    createRoute({
      method: "get",
      path: "/tokens",
      tags: ["Access"],
      summary: "API tokens of the organization (values are never shown again)",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(tokenSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { kv } = c.var.hub;
      return c.json({ items: await describeTokens(kv, c.var.auth.org, await listTokens(kv, c.var.auth.org)) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/tokens",
      tags: ["Access"],
      summary: "Create an API token; its value is in the answer once",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z.object({ name: z.string().trim().min(1).max(100), role: roleSchema }).strict(),
            },
          },
        },
      },
      responses: { 201: json(z.object({ token: tokenSchema, value: z.string() }), "Created"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const auth = c.var.auth;
      if (!hasRole(auth.role, body.role)) {
        throw new ForbiddenError(`Cannot create a ${body.role} token: it would exceed your own role (${auth.role})`);
      }
      const { kv } = c.var.hub;
      const created = await createToken(kv, auth.org, body, { actor: auth.actor, boundTo: await bindingOf(kv, auth) });
      const [token] = await describeTokens(kv, auth.org, [created.token]);
      return c.json({ token, value: created.value }, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/tokens/{id}",
      tags: ["Access"],
      summary: "Revoke a token at once",
      security: bearer,
      request: { params: z.object({ id: pathId }) },
      responses: { 200: json(tokenSchema), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { kv } = c.var.hub;
      const token = await revokeToken(kv, auth.org, c.req.valid("param").id, { actor: auth.actor });
      const [shown] = await describeTokens(kv, auth.org, [token]);
      return c.json(shown, 200);
    },
  );

  app.use("/audit", requireRole("admin"));
  app.openapi(
    createRoute({
      method: "get",
      path: "/audit",
      tags: ["Access"],
      summary: "Audit log, newest first",
      security: bearer,
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().optional(),
        }),
      },
      responses: {
        200: json(z.object({ items: z.array(z.record(z.string(), z.unknown())), cursor: z.string().optional() })),
        ...errorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await listAudit(c.var.hub.kv, c.var.auth.org, q), 200);
    },
  );
  return app;
}
