/** The foundation's admin pages: events, members, tokens, audit log, dead letters (the overview is in overview.tsx). */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island, registerIsland } from "./island.tsx";
import { requirePage } from "../middleware/auth.ts";
import { listMembers } from "../../lib/accounts/store.ts";
import { listTokens } from "../../lib/accounts/tokens.ts";
import { describeTokens } from "../../lib/accounts/token_views.ts";
import { listAudit } from "../../lib/accounts/audit.ts";
import { hasRole, ROLES } from "../../lib/accounts/roles.ts";
import type { MessageKey } from "../../lib/i18n/mod.ts";
import { formText, islandI18n, pageT, ROLE_LABEL, roleOptions } from "./i18n.ts";
import { KeyValues } from "../../islands/_kv.tsx";
import { CardTable } from "../../islands/_card_table.tsx";
import { RedriveButton } from "./redrive_button.tsx";
import TokensPanel from "../../islands/tokens_panel.tsx";

registerIsland("tokens_panel", TokensPanel);

/** Audit actions in words (a literal map, so the catalogue test sees every key used). */
const AUDIT_ACTION: Record<string, MessageKey> = {
  "org.created": "audit.action.org.created",
  "member.added": "audit.action.member.added",
  "member.role_changed": "audit.action.member.role_changed",
  "member.removed": "audit.action.member.removed",
  "token.created": "audit.action.token.created",
  "token.revoked": "audit.action.token.revoked",
  "settings.changed": "audit.action.settings.changed",
  "schedule.created": "audit.action.schedule.created",
  "schedule.updated": "audit.action.schedule.updated",
  "schedule.deleted": "audit.action.schedule.deleted",
  "schedule.run_now": "audit.action.schedule.run_now",
  "dead_letter.redriven": "audit.action.dead_letter.redriven",
  "dead_letter.discarded": "audit.action.dead_letter.discarded",
  "login.locked": "audit.action.login.locked",
};
const AUDIT_DETAIL: Record<string, MessageKey> = {
  role: "audit.detail.role",
  from: "audit.detail.from",
  to: "audit.detail.to",
  tokensRevoked: "audit.detail.tokensRevoked",
  section: "audit.detail.section",
  fields: "audit.detail.fields",
  id: "audit.detail.id",
  reason: "audit.detail.reason",
};

export function adminPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/events", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t } = pageT(page);
    const types = (c.req.query("types") ?? "").split(",").map((t) => t.trim()).filter(Boolean);
    const initial = await hub.events.recent(page.org.id, { limit: 50, types: types.length ? types : undefined });
    return render(
      c,
      <Layout title={t("events.title")} active="events" page={page}>
        <p>{t("events.lead")}</p>
        <Island
          name="events_feed"
          props={{ initial, types, filterable: true, i18n: islandI18n(page, ["events."]) }}
        />
      </Layout>,
    );
  });

  app.get("/members", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t } = pageT(page);
    const members = await listMembers(hub.kv, page.org.id);
    const admin = hasRole(page.role, "admin");
    const roles = page.role === "owner" ? [...ROLES] : ROLES.filter((r) => r !== "owner");
    return render(
      c,
      <Layout title={t("members.title")} active="members" page={page}>
        <CardTable
          testId="members-table"
          rows={members}
          rowKey={(m) => m.userId}
          columns={[
            {
              label: t("members.col.name"),
              cell: (m) => (
                <>
                  <strong>{m.name || m.email}</strong>
                  {m.userId === page.user.id && <small>({t("members.you")})</small>}
                </>
              ),
            },
            { label: t("members.col.email"), cell: (m) => m.email },
            {
              label: t("members.col.role"),
              cell: (m) =>
                admin && (m.role !== "owner" || page.role === "owner") && m.userId !== page.user.id
                  ? (
                    <Island
                      name="role_select"
                      props={{
                        action: `/api/v1/members/${m.userId}`,
                        role: m.role,
                        roles: roleOptions(page, roles),
                        label: t("members.col.role"),
                        failed: t("common.failed"),
                      }}
                    />
                  )
                  : t(ROLE_LABEL[m.role]),
            },
            admin && {
              label: t("members.col.actions"),
              class: "actions",
              cell: (m) =>
                m.userId !== page.user.id && (m.role !== "owner" || page.role === "owner") && (
                  <Island
                    name="api_action"
                    props={{
                      action: `/api/v1/members/${m.userId}`,
                      method: "DELETE",
                      label: t("members.remove"),
                      confirm: t("members.remove.confirm", { email: m.email }),
                      done: t("members.removed"),
                      failed: t("common.failed"),
                    }}
                  />
                ),
            },
          ]}
        />
        {admin && (
          <>
            <h2>{t("members.add.title")}</h2>
            <Island
              name="api_form"
              props={{
                action: "/api/v1/members",
                submitLabel: t("members.add.submit"),
                text: formText(page),
                fields: [
                  { name: "email", label: t("members.add.email"), type: "email", required: true },
                  { name: "name", label: t("members.add.name") },
                  { name: "password", label: t("members.add.password"), type: "password" },
                  {
                    name: "role",
                    label: t("members.add.role"),
                    type: "select",
                    options: roleOptions(page, roles),
                    value: "operator",
                  },
                ],
              }}
            />
          </>
        )}
      </Layout>,
    );
  });

  app.get("/tokens", requirePage("admin"), async (c) => {
    const page = c.var.page;
    const { t } = pageT(page);
    const tokens = await describeTokens(hub.kv, page.org.id, await listTokens(hub.kv, page.org.id));
    const members = await listMembers(hub.kv, page.org.id);
    const names = Object.fromEntries(members.map((m) => [m.userId, m.name || m.email]));
    const roles = ROLES.filter((r) => hasRole(page.role, r));
    const [before, after] = t("tokens.lead", { header: "\u0000" }).split("\u0000");
    return render(
      c,
      <Layout title={t("tokens.title")} active="tokens" page={page}>
        <p>
          {before}
          <code>Authorization: Bearer &lt;token&gt;</code>
          {after}
        </p>
        <Island
          name="tokens_panel"
          props={{ initial: tokens, roles: roleOptions(page, roles), names, i18n: islandI18n(page, ["tokens."]) }}
        />
      </Layout>,
    );
  });

  app.get("/audit", requirePage("admin"), async (c) => {
    const page = c.var.page;
    const { t, dateTime } = pageT(page);
    const { items, cursor } = await listAudit(hub.kv, page.org.id, { limit: 100, cursor: c.req.query("cursor") });
    const members = await listMembers(hub.kv, page.org.id);
    const byId = new Map(members.map((m) => [m.userId, m.name || m.email]));
    const labels = Object.fromEntries(Object.entries(AUDIT_DETAIL).map(([k, key]) => [k, t(key)]));
    const who = (actor: string, label: string) =>
      actor === "system" ? t("audit.system") : byId.get(actor.replace(/^user:/, "")) ?? label;
    return render(
      c,
      <Layout title={t("audit.title")} active="audit" page={page}>
        <CardTable
          testId="audit-table"
          rows={items}
          rowKey={(a) => a.id}
          columns={[
            { label: t("audit.col.time"), class: "nowrap-cell", cell: (a) => dateTime(a.at, page.timeZone) },
            { label: t("audit.col.who"), cell: (a) => who(a.actor, a.actorLabel) },
            {
              label: t("audit.col.action"),
              cell: (a) => AUDIT_ACTION[a.action] ? t(AUDIT_ACTION[a.action]) : <code>{a.action}</code>,
            },
            { label: t("audit.col.target"), cell: (a) => a.target ? byId.get(a.target) ?? a.target : "" },
            {
              label: t("audit.col.details"),
              cell: (a) => a.details && <KeyValues data={translateRoles(a.details, t)} labels={labels} />,
            },
          ]}
        />
        {items.length === 0 && <p>{t("audit.empty")}</p>}
        {cursor && <a href={`/admin/audit?cursor=${encodeURIComponent(cursor)}`}>{t("common.older")}</a>}
      </Layout>,
    );
  });

  app.get("/dead-letters", requirePage("operator"), async (c) => {
    const page = c.var.page;
    const { t, dateTime } = pageT(page);
    const kind = c.req.query("kind") || undefined;
    const { items } = await hub.queue.dead.list(page.org.id, { kind, limit: 200 });
    return render(
      c,
      <Layout title={t("dead.title")} active="dead" page={page}>
        <p>{t("dead.lead")}</p>
        <form method="get" role="search" class="filter">
          <input
            name="kind"
            aria-label={t("dead.filter.kind")}
            placeholder={t("dead.filter.placeholder")}
            value={kind}
          />
          <button type="submit">{t("common.filter")}</button>
        </form>
        <p>
          <small>{t("dead.count", { count: items.length })}</small>
        </p>
        <CardTable
          testId="dead-letters"
          rows={items}
          rowKey={(d) => d.id}
          rowProps={(d) => ({ "data-dead-id": d.id })}
          columns={[
            { label: t("dead.col.failed"), class: "nowrap-cell", cell: (d) => dateTime(d.failedAt, page.timeZone) },
            { label: t("dead.col.kind"), cell: (d) => <code>{d.kind}</code> },
            {
              label: t("dead.col.reason"),
              cell: (d) => (
                <details>
                  <summary>{d.reason}</summary>
                  <KeyValues data={(d.envelope as { payload?: unknown })?.payload ?? d.envelope} />
                </details>
              ),
            },
            { label: t("dead.col.attempts"), cell: (d) => d.attempts },
            {
              label: t("dead.col.actions"),
              class: "actions",
              cell: (d) => (
                <>
                  <RedriveButton id={d.id} t={t} />
                  {hasRole(page.role, "admin") && (
                    <Island
                      name="api_action"
                      props={{
                        action: `/api/v1/dead-letters/${d.id}`,
                        method: "DELETE",
                        label: t("dead.discard"),
                        confirm: t("dead.discard.confirm"),
                        done: t("dead.discarded"),
                        failed: t("common.failed"),
                        after: "stay",
                      }}
                    />
                  )}
                </>
              ),
            },
          ]}
        />
        {items.length === 0 && <p>{t("dead.empty")}</p>}
      </Layout>,
    );
  });

  return app;
}

/** Role values inside audit details (`from: "operator"`) in words. */
function translateRoles(details: Record<string, unknown>, t: (key: MessageKey) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    out[k] = typeof v === "string" && v in ROLE_LABEL ? t(ROLE_LABEL[v as keyof typeof ROLE_LABEL]) : v;
  }
  return out;
}
