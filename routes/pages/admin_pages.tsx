/** The foundation's admin pages: events, members, tokens, audit log, dead letters (the overview is in overview.tsx). */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island } from "./island.tsx";
import { requirePage } from "../middleware/auth.ts";
import { listMembers } from "../../lib/accounts/store.ts";
import { listTokens } from "../../lib/accounts/tokens.ts";
import { describeTokens } from "../../lib/accounts/token_views.ts";
import { listAudit } from "../../lib/accounts/audit.ts";
import { hasRole, ROLES } from "../../lib/accounts/roles.ts";
import { generalSettings } from "../../lib/general_settings.ts";

function when(iso: string | undefined, tz: string): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("ru-RU", { timeZone: tz, hour12: false });
}

export function adminPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/events", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const settings = await generalSettings(hub, page.org.id);
    const types = (c.req.query("types") ?? "").split(",").map((t) => t.trim()).filter(Boolean);
    const initial = await hub.events.recent(page.org.id, { limit: 50, types: types.length ? types : undefined });
    return render(
      c,
      <Layout title="Events" active="events" page={page}>
        <p>Everything that happens in the hub, live.</p>
        <Island name="events_feed" props={{ initial, types, timeZone: settings.timezone }} />
      </Layout>,
    );
  });

  app.get("/members", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const members = await listMembers(hub.kv, page.org.id);
    const admin = hasRole(page.role, "admin");
    const roles = page.role === "owner" ? [...ROLES] : ROLES.filter((r) => r !== "owner");
    return render(
      c,
      <Layout title="Members" active="members" page={page}>
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th>E-mail</th>
                <th>Name</th>
                <th>Role</th>
                {admin && <th></th>}
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.userId}>
                  <td>{m.email}</td>
                  <td>{m.name}</td>
                  <td>
                    {admin && (m.role !== "owner" || page.role === "owner")
                      ? (
                        <Island
                          name="role_select"
                          props={{ action: `/api/v1/members/${m.userId}`, role: m.role, roles }}
                        />
                      )
                      : m.role}
                  </td>
                  {admin && (
                    <td>
                      {m.userId !== page.user.id && (
                        <Island
                          name="api_action"
                          props={{
                            action: `/api/v1/members/${m.userId}`,
                            method: "DELETE",
                            label: "Remove",
                            confirm: `Remove ${m.email}?`,
                          }}
                        />
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {admin && (
          <>
            <h2>Add a member</h2>
            <Island
              name="api_form"
              props={{
                action: "/api/v1/members",
                submitLabel: "Add",
                fields: [
                  { name: "email", label: "E-mail", type: "email", required: true },
                  { name: "name", label: "Name" },
                  { name: "password", label: "Initial password (only for a new user)", type: "password" },
                  { name: "role", label: "Role", type: "select", options: roles, value: "operator" },
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
    const settings = await generalSettings(hub, page.org.id);
    const tokens = await describeTokens(hub.kv, page.org.id, await listTokens(hub.kv, page.org.id));
    const roles = ROLES.filter((r) => hasRole(page.role, r));
    return render(
      c,
      <Layout title="API tokens" active="tokens" page={page}>
        <p>
          Programs (1C, scripts, connectors) call the API with{" "}
          <code>Authorization: Bearer &lt;token&gt;</code>. A token is shown once and stored only as a hash. A token
          never does more than its creator may now: removing the member revokes their tokens, and a lower role caps
          them.
        </p>
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Creator</th>
                <th>Prefix</th>
                <th>Created</th>
                <th>Last used</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>
                    {t.role}
                    {t.effectiveRole && t.effectiveRole !== t.role && (
                      <small title="capped at its creator's current role">→ {t.effectiveRole}</small>
                    )}
                  </td>
                  <td>
                    {t.creator.kind === "operator" ? <small>operator</small> : t.creator.email ?? t.creator.userId}
                  </td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{when(t.createdAt, settings.timezone)}</td>
                  <td>{when(t.lastUsedAt, settings.timezone)}</td>
                  <td>
                    {t.revokedAt ? <small>revoked {when(t.revokedAt, settings.timezone)}</small> : (
                      <Island
                        name="api_action"
                        props={{
                          action: `/api/v1/tokens/${t.id}`,
                          method: "DELETE",
                          label: "Revoke",
                          confirm: `Revoke ${t.name}?`,
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <h2>New token</h2>
        <Island
          name="api_form"
          props={{
            action: "/api/v1/tokens",
            submitLabel: "Create",
            showResult: "value",
            fields: [
              { name: "name", label: "Name", required: true, placeholder: "1C production" },
              { name: "role", label: "Role", type: "select", options: roles, value: "operator" },
            ],
          }}
        />
      </Layout>,
    );
  });

  app.get("/audit", requirePage("admin"), async (c) => {
    const page = c.var.page;
    const settings = await generalSettings(hub, page.org.id);
    const { items, cursor } = await listAudit(hub.kv, page.org.id, { limit: 100, cursor: c.req.query("cursor") });
    return render(
      c,
      <Layout title="Audit log" active="audit" page={page}>
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th>Time ({settings.timezone})</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id}>
                  <td>{when(a.at, settings.timezone)}</td>
                  <td>{a.actorLabel}</td>
                  <td>
                    <code>{a.action}</code>
                  </td>
                  <td>{a.target}</td>
                  <td>
                    <small>{a.details ? JSON.stringify(a.details) : ""}</small>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {cursor && <a href={`/admin/audit?cursor=${encodeURIComponent(cursor)}`}>Older →</a>}
      </Layout>,
    );
  });

  app.get("/dead-letters", requirePage("operator"), async (c) => {
    const page = c.var.page;
    const settings = await generalSettings(hub, page.org.id);
    const kind = c.req.query("kind") || undefined;
    const { items } = await hub.queue.deadLetters(page.org.id, { kind, limit: 200 });
    return render(
      c,
      <Layout title="Dead letters" active="dead" page={page}>
        <p>
          Messages that failed for good: invalid messages, terminal errors, and those that used up their retries.
          Re-drive puts a message back on the queue with a fresh attempt count.
        </p>
        <form method="get" role="search">
          <input name="kind" placeholder="kind, e.g. task.process" value={kind} />
          <button type="submit">Filter</button>
        </form>
        <div class="overflow-auto">
          <table class="striped" data-testid="dead-letters">
            <thead>
              <tr>
                <th>Failed</th>
                <th>Kind</th>
                <th>Reason</th>
                <th>Attempts</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <td>{when(d.failedAt, settings.timezone)}</td>
                  <td>
                    <code>{d.kind}</code>
                  </td>
                  <td>
                    <details>
                      <summary>{d.reason}</summary>
                      <pre><code>{JSON.stringify(d.envelope, null, 2).slice(0, 4000)}</code></pre>
                    </details>
                  </td>
                  <td>{d.attempts}</td>
                  <td>
                    <Island
                      name="api_action"
                      props={{ action: `/api/v1/dead-letters/${d.id}/redrive`, label: "Re-drive" }}
                    />
                    {hasRole(page.role, "admin") && (
                      <Island
                        name="api_action"
                        props={{
                          action: `/api/v1/dead-letters/${d.id}`,
                          method: "DELETE",
                          label: "Discard",
                          confirm: "Discard it for good?",
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {items.length === 0 && <p>No dead letters.</p>}
      </Layout>,
    );
  });

  return app;
}
