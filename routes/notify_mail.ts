/** Mailboxes API: list, add, change, remove, "Test connection" and "Poll now". Viewers read, admins change. */
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { requireRoles } from "./middleware/auth.ts";
import type { Hub } from "../lib/hub.ts";
import { NotFoundError, ValidationError } from "../lib/errors.ts";
import { audit } from "../lib/accounts/audit.ts";
import { orgUrlProblem } from "../lib/http/org_url.ts";
import { mailboxInputSchema, mailboxView } from "../lib/notify/mail/mailboxes.ts";
import { deleteRoute, idParam, json, notFound as notFoundOf } from "./notify_common.ts";

const notFound = notFoundOf("mailbox");

const inputBody = mailboxInputSchema.extend({}).openapi("MailboxInput", {
  example: {
    name: "Бухгалтерия",
    protocol: "imap",
    host: "imap.example.ru",
    port: 993,
    security: "tls",
    user: "buh@example.ru",
    password: "app-password",
    folder: "INBOX",
    pollSeconds: 60,
    forwardAttachments: true,
    attachmentMaxBytes: 5242880,
  },
});
const mailboxSchema = mailboxInputSchema.omit({ password: true }).extend({
  id: z.string(),
  status: z.enum(["new", "ok", "failing"]),
  lastError: z.string().optional().openapi({ example: "[AUTHENTICATIONFAILED] Authentication failed." }),
  lastPollAt: z.string().optional(),
  lastOkAt: z.string().optional(),
  received: z.number(),
  oversized: z.number().optional().openapi({
    description: "How many received mails were over the size cap (notified from their headers only)",
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Mailbox");

export function mailboxRoutes(hub: Hub) {
  const app = newApi();
  for (const p of ["/mailboxes", "/mailboxes/*"]) app.use(p, requireRoles("viewer", "admin"));
  const mb = () => hub.notify.mailboxes;

  /** The organization's address policy applies to the host when saved (what it says; DNS again on every poll). */
  async function checked(org: string, input: z.infer<typeof mailboxInputSchema>) {
    if (input.protocol === "pop3" && input.security === "starttls") {
      throw new ValidationError([{ field: "security", message: "POP3 supports tls or none, not starttls" }]);
    }
    const problem = await orgUrlProblem(
      hub,
      org,
      `http://${input.host.includes(":") && !input.host.startsWith("[") ? `[${input.host}]` : input.host}/`,
    );
    if (problem) {
      throw new ValidationError([{ field: "host", message: problem }], { prefix: "Cannot save the mailbox" });
    }
    return input;
  }

  app.openapi(
    createRoute({
      method: "get",
      path: "/mailboxes",
      tags: ["Notifications"],
      summary: "Watched mailboxes with their state (a failing one shows the server's own error)",
      security: bearer,
      responses: { 200: json(z.object({ items: z.array(mailboxSchema) })), ...errorResponses },
    }),
    async (c) => c.json({ items: (await mb().list(c.var.auth.org)).map(mailboxView) }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/mailboxes",
      tags: ["Notifications"],
      summary: "Watch a mailbox (IMAP or POP3; the password is sealed at rest)",
      security: bearer,
      request: { body: { content: { "application/json": { schema: inputBody } }, required: true } },
      responses: { 201: json(mailboxSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const input = await checked(auth.org, c.req.valid("json"));
      if (!input.password) throw new ValidationError([{ field: "password", message: "required" }]);
      const m = await mb().create(auth.org, input);
      await audit(hub.kv, auth.org, auth.actor, "mailbox.created", { target: m.id, details: { name: m.name } });
      return c.json(mailboxView(m), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/mailboxes/test",
      tags: ["Notifications"],
      summary: "Test connection: log in and open the folder (give `id` to use a stored password)",
      security: bearer,
      request: {
        body: {
          content: { "application/json": { schema: inputBody.extend({ id: z.string().max(100).optional() }) } },
          required: true,
        },
      },
      responses: {
        200: json(z.object({ ok: z.boolean(), error: z.string().optional() })),
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      await checked(c.var.auth.org, body);
      return c.json(await mb().test(c.var.auth.org, body), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/mailboxes/{id}",
      tags: ["Notifications"],
      summary: "Change a mailbox (omit the password to keep it)",
      security: bearer,
      request: { params: idParam, body: { content: { "application/json": { schema: inputBody } }, required: true } },
      responses: { 200: json(mailboxSchema), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const auth = c.var.auth;
      const { id } = c.req.valid("param");
      // Another organization's id is a 404 before anything about the body is said.
      if (!(await mb().get(auth.org, id))) throw new NotFoundError("mailbox");
      const m = await mb().update(auth.org, id, await checked(auth.org, c.req.valid("json")));
      if (!m) throw new NotFoundError("mailbox");
      await audit(hub.kv, auth.org, auth.actor, "mailbox.updated", { target: id });
      return c.json(mailboxView(m), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/mailboxes/{id}/poll",
      tags: ["Notifications"],
      summary: "Read the mailbox now (queued; the result shows in the mailbox's state and the delivery log)",
      security: bearer,
      request: { params: idParam },
      responses: { 202: json(z.object({ queued: z.boolean() }), "Queued"), ...notFound, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await mb().get(c.var.auth.org, id))) throw new NotFoundError("mailbox");
      await hub.queue.enqueue("mail.poll", { mailboxId: id }, { org: c.var.auth.org });
      return c.json({ queued: true }, 202);
    },
  );
  deleteRoute(app, hub, {
    path: "/mailboxes",
    what: "mailbox",
    summary: "Stop watching a mailbox",
    action: "mailbox.removed",
    remove: (org, id) => mb().remove(org, id),
  });
  return app;
}
