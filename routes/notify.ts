/**
 * The notifications API: bots, groups, contacts, rules (with the tester),
 * "send now", and the delivery log with re-send. Viewers read; admins change
 * bots, chats and rules; operators send and re-send. The Telegram webhook
 * (`POST /telegram/{botId}`) is in notify_webhook.ts.
 */
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { requireRole, requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { NotFoundError } from "../lib/errors.ts";
import { audit } from "../lib/accounts/audit.ts";
import { botView } from "../lib/notify/bots.ts";
import { ruleInputSchema } from "../lib/notify/rules.ts";
import { eventTypes } from "../lib/notify/catalogue.ts";
import type { ChatRecord, DeliveryRecord } from "../lib/notify/store.ts";
import { mailboxRoutes } from "./notify_mail.ts";
import { deleteRoute, idParam, json, notFound } from "./notify_common.ts";

const botSchema = z.object({
  id: z.string(),
  username: z.string().openapi({ example: "shlyuz_alerts_bot" }),
  name: z.string(),
  status: z.enum(["ok", "failing", "revoked"]),
  mode: z.enum(["webhook", "polling"]),
  lastError: z.string().optional().openapi({ example: "401 Unauthorized" }),
  lastErrorAt: z.string().optional(),
  createdAt: z.string(),
}).openapi("Bot");

const chatSchema = z.object({
  id: z.string(),
  kind: z.enum(["group", "contact"]),
  tgChatId: z.number().openapi({ example: -1001234567890 }),
  title: z.string().openapi({ example: "Отдел продаж" }),
  username: z.string().optional(),
  botIds: z.array(z.string()),
  status: z.enum(["active", "pending", "kicked", "blocked", "deleted", "left"]),
  statusReason: z.string().optional(),
  migratedFrom: z.number().optional(),
  isForum: z.boolean().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Chat");

const ruleBody = ruleInputSchema.extend({}).openapi("RuleInput", {
  example: {
    name: "Сбой расписания",
    eventType: "schedule.failed",
    match: "all",
    conditions: [{ field: "scheduleName", op: "contains", value: "выгрузка" }],
    template: "⚠️ <b>{{scheduleName}}</b>: {{reason}}",
    targets: [{ chatId: "01J…" }],
    repeatMinutes: 30,
    repeatKey: "{{scheduleId}}",
  },
});
const ruleSchema = ruleInputSchema.extend({
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  preset: z.string().optional(),
}).openapi("Rule");

const deliverySchema = z.looseObject({
  id: z.string(),
  ruleId: z.string().optional(),
  ruleName: z.string().optional(),
  eventId: z.string().optional(),
  eventType: z.string().optional(),
  channel: z.enum(["telegram", "webhook"]),
  target: z.string(),
  targetName: z.string(),
  botId: z.string().optional(),
  threadId: z.number().optional(),
  text: z.string(),
  status: z.enum(["queued", "sent", "failed", "retrying"]),
  partsSent: z.number(),
  parts: z.number(),
  attempts: z.number(),
  error: z.string().optional(),
  plainFallback: z.boolean().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Delivery");

function chatOut(c: ChatRecord) {
  const { org: _org, ...rest } = c;
  return rest;
}

function deliveryOut(d: DeliveryRecord) {
  const { org: _org, ...rest } = d;
  return rest;
}

export function notifyRoutes(hub: Hub) {
  const app = newApi();
  for (const p of ["/bots", "/bots/*", "/groups", "/groups/*", "/contacts", "/contacts/*", "/rules", "/rules/*"]) {
    app.use(
      p,
      (c, next) =>
        c.req.path.endsWith("/rules/test")
          ? requireRole("operator")(c, next)
          : requireRoles("viewer", "admin")(c, next),
    );
  }
  app.use("/notifications", requireRole("operator"));
  app.use("/deliveries", requireRole("viewer"));
  app.use("/deliveries/*", requireRoles("viewer", "operator"));
  const n = () => hub.notify;

  // ---- bots
  app.openapi(
    createRoute({
      method: "get",
      path: "/bots",
      tags: ["Notifications"],
      summary: "Telegram bots of the organization with their health",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(botSchema) })), ...errorResponses },
    }),
    async (c) => c.json({ items: (await n().store.listBots(c.var.auth.org)).map(botView) }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/bots",
      tags: ["Notifications"],
      summary: "Add a bot by its token (checked with getMe; sealed at rest)",
      description: "With PUBLIC_URL set the hub sets the bot's webhook to {PUBLIC_URL}/telegram/{botId} with a " +
        "per-bot secret; otherwise it long-polls. A token Telegram refuses answers 422; a bot already added 409.",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z.object({ token: z.string().min(1).max(200) }).openapi({
                example: { token: "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" },
              }),
            },
          },
          required: true,
        },
      },
      responses: {
        201: json(botSchema, "Added"),
        409: json(z.object({ error: z.unknown() }), "Already added"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const auth = c.var.auth;
      const bot = await (n().bots.add(auth.org, c.req.valid("json").token));
      await audit(hub.kv, auth.org, auth.actor, "bot.added", { target: bot.id, details: { username: bot.username } });
      return c.json(botView(bot), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/bots/{id}/check",
      tags: ["Notifications"],
      summary: "Check the bot now: token, webhook ownership (re-asserted when changed), Telegram's last error",
      security: bearer,
      request: { params: idParam },
      responses: { 200: json(botSchema), ...notFound("bot"), ...errorResponses },
    }),
    async (c) => {
      const bot = await n().store.getBot(c.var.auth.org, c.req.valid("param").id);
      if (!bot) throw new NotFoundError("bot");
      return c.json(botView(await n().bots.check(bot)), 200);
    },
  );
  deleteRoute(app, hub, {
    path: "/bots",
    what: "bot",
    summary: "Remove a bot (its webhook is deleted; groups keep their other bots)",
    action: "bot.removed",
    remove: (org, id) => n().bots.remove(org, id),
  });

  // ---- groups and contacts
  for (const kind of ["group", "contact"] as const) {
    const path = kind === "group" ? "/groups" : "/contacts";
    app.openapi(
      createRoute({
        method: "get",
        path,
        tags: ["Notifications"],
        summary: kind === "group"
          ? "Groups (registered when a bot is added to them, or by hand)"
          : "Contacts (private chats that wrote /start; pending until approved)",
        security: bearer,
        responses: { 200: json(z.object({ items: z.array(chatSchema) })), ...errorResponses },
      }),
      async (c) => {
        const items = (await n().store.listChats(c.var.auth.org)).filter((x) => x.kind === kind).map(chatOut);
        return c.json({ items }, 200);
      },
    );
    app.openapi(
      createRoute({
        method: "post",
        path,
        tags: ["Notifications"],
        summary: `Register a ${kind} by hand: the bot must see the chat (getChat)`,
        security: bearer,
        request: {
          body: {
            content: {
              "application/json": {
                schema: z.object({ tgChatId: z.number().int(), botId: z.string().min(1).max(100) }).openapi({
                  example: { tgChatId: -1001234567890, botId: "01J…" },
                }),
              },
            },
            required: true,
          },
        },
        responses: { 201: json(chatSchema, "Registered"), ...errorResponses },
      }),
      async (c) => {
        const auth = c.var.auth;
        const chat = await (n().addChat(auth.org, { ...c.req.valid("json"), kind }));
        await audit(hub.kv, auth.org, auth.actor, `${kind}.added`, { target: chat.id, details: { title: chat.title } });
        return c.json(chatOut(chat), 201);
      },
    );
    app.openapi(
      createRoute({
        method: "patch",
        path: `${path}/{id}`,
        tags: ["Notifications"],
        summary: kind === "group"
          ? "Change a group: rename it, link bots (several bots per group), reactivate it"
          : 'Approve a contact (`{ "status": "active" }`) or rename it',
        security: bearer,
        request: {
          params: idParam,
          body: {
            content: {
              "application/json": {
                schema: z.object({
                  status: z.literal("active").optional(),
                  title: z.string().trim().min(1).max(200).optional(),
                  botIds: z.array(z.string().min(1).max(100)).min(1).max(20).optional(),
                }),
              },
            },
            required: true,
          },
        },
        responses: { 200: json(chatSchema), ...notFound(kind), ...errorResponses },
      }),
      async (c) => {
        const auth = c.var.auth;
        const { id } = c.req.valid("param");
        const cur = await n().store.getChat(auth.org, id);
        if (!cur || cur.kind !== kind) throw new NotFoundError(kind);
        const chat = await (n().updateChat(auth.org, id, c.req.valid("json")));
        await audit(hub.kv, auth.org, auth.actor, `${kind}.updated`, { target: id, details: c.req.valid("json") });
        return c.json(chatOut(chat), 200);
      },
    );
    deleteRoute(app, hub, {
      path,
      what: kind,
      summary: `Remove a ${kind} (rules that point at it fail their deliveries to it)`,
      action: `${kind}.removed`,
      remove: async (org, id) => (await n().store.getChat(org, id))?.kind === kind && n().store.deleteChat(org, id),
    });
  }

  // ---- rules
  app.openapi(
    createRoute({
      method: "get",
      path: "/rules/event-types",
      tags: ["Notifications"],
      summary: "Event types rules can match, with their fields",
      security: bearer,
      responses: {
        200: json(
          z.object({
            items: z.array(z.object({ type: z.string(), description: z.string(), fields: z.array(z.string()) })),
          }),
        ),
        ...errorResponses,
      },
    }),
    (c) => c.json({ items: eventTypes() }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/rules",
      tags: ["Notifications"],
      summary: "Rules (a new organization starts with switched-off presets for common failures)",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(ruleSchema) })), ...errorResponses },
    }),
    async (c) => c.json({ items: await n().listRules(c.var.auth.org) }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/rules",
      tags: ["Notifications"],
      summary: "Create a rule",
      description: "Conditions and template placeholders are checked against the event type's schema " +
        "(GET /api/v1/rules/event-types); an unknown field, a bad or too long regex, an unknown chat or bot, " +
        "or a refused webhook URL answer 422 naming the field.",
      security: bearer,
      request: { body: { content: { "application/json": { schema: ruleBody } }, required: true } },
      responses: { 201: json(ruleSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const rule = await (n().createRule(auth.org, c.req.valid("json")));
      await audit(hub.kv, auth.org, auth.actor, "rule.created", { target: rule.id, details: { name: rule.name } });
      return c.json(rule, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/rules/test",
      tags: ["Notifications"],
      summary: "Which rules fire for a sample or a recent event, with the rendered messages (nothing is sent)",
      description:
        "Give `eventId` of a recent event, or `type` and `data`; `rule` tries a draft instead of the saved rules.",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z.object({
                eventId: z.string().max(100).optional(),
                type: z.string().max(100).optional(),
                data: z.record(z.string(), z.unknown()).optional(),
                rule: ruleBody.partial({ name: true }).optional(),
              }).openapi({ example: { type: "mail.received", data: { subject: "Счёт №42", from: "buh@example.ru" } } }),
            },
          },
          required: true,
        },
      },
      responses: {
        200: json(z.object({
          event: z.unknown(),
          results: z.array(z.object({
            ruleId: z.string(),
            name: z.string(),
            matched: z.boolean(),
            enabled: z.boolean(),
            text: z.string(),
            targets: z.array(z.string()),
          })),
        })),
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const rule = body.rule ? { name: "draft", ...body.rule } : undefined;
      return c.json(await (n().testRules(c.var.auth.org, { ...body, rule })), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/rules/{id}",
      tags: ["Notifications"],
      summary: "One rule",
      security: bearer,
      request: { params: idParam },
      responses: { 200: json(ruleSchema), ...notFound("rule"), ...errorResponses },
    }),
    async (c) => {
      const rule = await n().rules.get(c.var.auth.org, c.req.valid("param").id);
      if (!rule) throw new NotFoundError("rule");
      return c.json(rule, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/rules/{id}",
      tags: ["Notifications"],
      summary: "Replace a rule (takes effect at once)",
      security: bearer,
      request: { params: idParam, body: { content: { "application/json": { schema: ruleBody } }, required: true } },
      responses: { 200: json(ruleSchema), ...notFound("rule"), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { id } = c.req.valid("param");
      const rule = await (n().updateRule(auth.org, id, c.req.valid("json")));
      await audit(hub.kv, auth.org, auth.actor, "rule.updated", { target: id });
      return c.json(rule, 200);
    },
  );
  deleteRoute(app, hub, {
    path: "/rules",
    what: "rule",
    summary: "Delete a rule",
    action: "rule.deleted",
    remove: (org, id) => n().rules.remove(org, id),
  });
  // ---- sending and the log
  app.openapi(
    createRoute({
      method: "post",
      path: "/notifications",
      tags: ["Notifications"],
      summary: "Send a message now to groups or contacts (Telegram HTML; split above 4,096 characters)",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z.object({
                chatIds: z.array(z.string().min(1).max(100)).min(1).max(100),
                text: z.string().min(1).max(20_000),
                botId: z.string().max(100).optional(),
                threadId: z.number().int().positive().optional(),
              }).openapi({ example: { chatIds: ["01J…"], text: "<b>Плановые работы</b> сегодня в 22:00" } }),
            },
          },
          required: true,
        },
      },
      responses: { 202: json(z.object({ items: z.array(deliverySchema) }), "Queued"), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const items = await (n().sendNow(auth.org, c.req.valid("json")));
      await audit(hub.kv, auth.org, auth.actor, "notification.sent", { details: { chats: items.length } });
      return c.json({ items: items.map(deliveryOut) }, 202);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/deliveries",
      tags: ["Notifications"],
      summary: "The delivery log, newest first; `q` searches target, rule, text and error",
      security: bearer,
      request: {
        query: z.object({
          status: z.enum(["queued", "sent", "failed", "retrying"]).optional(),
          q: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(deliverySchema) })), ...errorResponses },
    }),
    async (c) => {
      const items = await n().store.listDeliveries(c.var.auth.org, c.req.valid("query"));
      return c.json({ items: items.map(deliveryOut) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/deliveries/{id}/resend",
      tags: ["Notifications"],
      summary: "Send a logged message again (as a new delivery)",
      security: bearer,
      request: { params: idParam },
      responses: { 202: json(deliverySchema, "Queued"), ...notFound("delivery"), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const d = await (n().resend(auth.org, c.req.valid("param").id));
      await audit(hub.kv, auth.org, auth.actor, "notification.resent", { target: d.id });
      return c.json(deliveryOut(d), 202);
    },
  );
  app.route("/", mailboxRoutes(hub));
  return app;
}
