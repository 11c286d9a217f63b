/**
 * `GET /api/v1/sla/...`: the dashboard's data for external BI tools, as
 * JSON or CSV (`?format=csv` or `Accept: text/csv`); the organization's SLA
 * settings; "poll now" and the poll state.
 */
import type { Context } from "hono";
import { bearer, createRoute, errorResponses, newApi, z } from "./openapi.ts";
import { requireRole, requireRoles } from "./middleware/auth.ts";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";
import { audit } from "../lib/accounts/audit.ts";
import { slaSettingsSchema } from "../lib/connector/dispatch.ts";

const formatQuery = z.object({
  format: z.enum(["json", "csv"]).optional().openapi({ description: "csv for a spreadsheet or BI import" }),
});
const daysQuery = formatQuery.extend({ days: z.coerce.number().int().min(1).max(90).default(14) });

const csvOrJson = (description: string) => ({
  200: {
    description,
    content: {
      "application/json": { schema: z.object({ items: z.array(z.record(z.string(), z.unknown())) }) },
      "text/csv": { schema: z.string() },
    },
  },
  ...errorResponses,
});

/** RFC 4180 CSV with a header row; nested values as JSON. */
export function toCsv(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}

function wantsCsv(c: Context<AppEnv>, format?: string): boolean {
  return format === "csv" || (format !== "json" && (c.req.header("accept") ?? "").includes("text/csv"));
}

function answer(
  c: Context<AppEnv>,
  format: string | undefined,
  name: string,
  items: Array<Record<string, unknown>>,
  columns: string[],
) {
  if (!wantsCsv(c, format)) return c.json({ items }, 200);
  return c.body(toCsv(items, columns), 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="sla-${name}.csv"`,
  });
}

export function slaRoutes(hub: Hub) {
  const svc = hub.connectors;
  const app = newApi();
  // Reads: viewer; "poll now": operator; settings: admin.
  const readWrite = requireRoles("viewer", "admin");
  const operator = requireRole("operator");
  app.use("/sla/*", (c, next) => (c.req.path.endsWith("/sla/poll") ? operator(c, next) : readWrite(c, next)));

  app.openapi(
    createRoute({
      method: "get",
      path: "/sla/dashboard",
      tags: ["SLA"],
      summary: "Everything the SLA dashboard shows: counters, overdue, suspended, departments, reasons, trends",
      security: bearer,
      request: { query: z.object({ days: z.coerce.number().int().min(1).max(90).default(14) }) },
      responses: {
        200: { description: "OK", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const org = c.var.auth.org;
      const [dashboard, poll] = await Promise.all([
        svc.sla.dashboard(org, { days: c.req.valid("query").days }),
        svc.dispatcher.pollState(org),
      ]);
      return c.json({ ...dashboard, poll }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/sla/overdue",
      tags: ["SLA"],
      summary: "Tickets over their SLA, most overdue first, with the time each department had them",
      security: bearer,
      request: { query: formatQuery },
      responses: csvOrJson(
        "id, title, status, priority, department, assignee, slaDeadline, reason, overdueMs, departments",
      ),
    }),
    // deno-lint-ignore no-explicit-any
    (async (c: any) => {
      const d = await svc.sla.dashboard(c.var.auth.org);
      return answer(c, c.req.valid("query").format, "overdue", d.overdue as unknown as Array<Record<string, unknown>>, [
        "id",
        "title",
        "status",
        "priority",
        "department",
        "assignee",
        "slaDeadline",
        "reason",
        "overdueMs",
        "departments",
      ]);
    }) as never,
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/sla/suspended",
      tags: ["SLA"],
      summary: "Suspended tickets, longest suspended first",
      security: bearer,
      request: { query: formatQuery },
      responses: csvOrJson("id, title, department, assignee, reason, suspendedSince, suspendedMs"),
    }),
    // deno-lint-ignore no-explicit-any
    (async (c: any) => {
      const d = await svc.sla.dashboard(c.var.auth.org);
      return answer(
        c,
        c.req.valid("query").format,
        "suspended",
        d.suspended as unknown as Array<Record<string, unknown>>,
        [
          "id",
          "title",
          "department",
          "assignee",
          "reason",
          "suspendedSince",
          "suspendedMs",
        ],
      );
    }) as never,
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/sla/departments",
      tags: ["SLA"],
      summary: "Departments ranked by their share of the overdue time",
      security: bearer,
      request: { query: formatQuery },
      responses: csvOrJson("department, overdueMs, share (0..1), tickets"),
    }),
    // deno-lint-ignore no-explicit-any
    (async (c: any) => {
      const d = await svc.sla.dashboard(c.var.auth.org);
      return answer(
        c,
        c.req.valid("query").format,
        "departments",
        d.departments as unknown as Array<Record<string, unknown>>,
        [
          "department",
          "overdueMs",
          "share",
          "tickets",
        ],
      );
    }) as never,
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/sla/reasons",
      tags: ["SLA"],
      summary: "Overdue tickets grouped by the reason the ticket system gives (empty: none given)",
      security: bearer,
      request: { query: formatQuery },
      responses: csvOrJson("reason, tickets, overdueMs"),
    }),
    // deno-lint-ignore no-explicit-any
    (async (c: any) => {
      const d = await svc.sla.dashboard(c.var.auth.org);
      return answer(c, c.req.valid("query").format, "reasons", d.reasons as unknown as Array<Record<string, unknown>>, [
        "reason",
        "tickets",
        "overdueMs",
      ]);
    }) as never,
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/sla/trends",
      tags: ["SLA"],
      summary: "Hourly trend points: overdue and suspended counts, summed overdue time",
      security: bearer,
      request: { query: daysQuery },
      responses: csvOrJson("hour, arrears, stopped, overdueMs"),
    }),
    // deno-lint-ignore no-explicit-any
    (async (c: any) => {
      const q = c.req.valid("query");
      const items = await svc.sla.store.trends(c.var.auth.org, { days: q.days, now: hub.clock.now() });
      return answer(c, q.format, "trends", items as unknown as Array<Record<string, unknown>>, [
        "hour",
        "arrears",
        "stopped",
        "overdueMs",
      ]);
    }) as never,
  );

  // null or "" clears a field: the environment default (SLA_INTERVAL, FILTER_*, SLA_DEADLINE_SEC) applies again.
  const cleared = z.union([z.literal(""), z.null()]);
  const seconds = (schema: z.ZodType, range: string, env: string) =>
    z.union([cleared, schema], { error: `must be a whole number of seconds (${range}), or null/"" for ${env}` })
      .optional();
  const settingsInput = z.object({
    intervalSec: seconds(slaSettingsSchema.shape.intervalSec, "5–86400", "SLA_INTERVAL"),
    filterArrears: z.string().max(200).nullable().optional(),
    filterStopped: z.string().max(200).nullable().optional(),
    deadlineSec: seconds(slaSettingsSchema.shape.deadlineSec, "1–3600", "SLA_DEADLINE_SEC"),
  }).openapi("SlaSettings");

  app.openapi(
    createRoute({
      method: "get",
      path: "/sla/settings",
      tags: ["SLA"],
      summary: "The organization's poll interval, saved-filter keys and query deadline (env defaults filled in)",
      security: bearer,
      responses: {
        200: { description: "OK", content: { "application/json": { schema: slaSettingsSchema.extend({}) } } },
        ...errorResponses,
      },
    }),
    async (c) => c.json(await svc.dispatcher.settings(c.var.auth.org), 200),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/sla/settings",
      tags: ["SLA"],
      summary:
        'Change the poll interval (s, from its next slot), saved-filter keys (null: the agent\'s own) or the deadline (s); null or "" restores the default',
      security: bearer,
      request: { body: { content: { "application/json": { schema: settingsInput } }, required: true } },
      responses: {
        200: { description: "OK", content: { "application/json": { schema: slaSettingsSchema.extend({}) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const auth = c.var.auth;
      const body = c.req.valid("json");
      await hub.settings.write(auth.org, "sla", body as Record<string, unknown>);
      await audit(hub.kv, auth.org, auth.actor, "sla.settings_updated", { details: body as Record<string, unknown> });
      // A new interval takes effect now: its first slot is claimed at once (a no-op without connectors).
      await svc.dispatcher.tick(auth.org);
      return c.json(await svc.dispatcher.settings(auth.org), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/sla/poll",
      tags: ["SLA"],
      summary: "Poll now: both saved filters go to live connectors at once (operator)",
      security: bearer,
      responses: {
        202: {
          description: "Queued; watch sla.snapshot events",
          content: { "application/json": { schema: z.object({ poll: z.string() }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => c.json({ poll: await svc.dispatcher.pollNow(c.var.auth.org) }, 202),
  );
  return app;
}
