/**
 * Admin page "Enrichment": submit a task, live results (island on SSE),
 * per-type counts and error rates, the rows browser, the dead letters of
 * `task.process` with re-drive, and the organization's DaData / YandexGPT /
 * webhook settings.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { generalSettings } from "../../lib/general_settings.ts";
import { TASK_TYPES, type TaskType } from "../../lib/enrichment/task_schema.ts";
import { taskProcessKind } from "../../lib/enrichment/kinds.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island, registerIsland } from "./island.tsx";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import EnrichmentLive, { type LiveRow } from "../../islands/enrichment_live.tsx";

registerIsland("enrichment_live", EnrichmentLive);

/** Pages under /admin/enrichment. */
export function enrichmentPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const org = page.org.id;
    const svc = hub.enrichment;
    const tz = (await generalSettings(hub, org)).timezone;
    const typeQ = c.req.query("type");
    const type = TASK_TYPES.includes(typeQ as TaskType) ? typeQ as TaskType : undefined;
    const rows = await svc.sink.list(org, { type, cursor: c.req.query("cursor") || undefined, limit: 25 });
    const stats = await svc.processor.stats(org);
    const status = svc.status();
    const events = await hub.events.recent(org, { types: ["task.done", "task.failed"], limit: 30 });
    const initial: LiveRow[] = events.flatMap((e): LiveRow[] =>
      e.type === "task.failed"
        ? [{
          key: e.id,
          at: e.at,
          task_id: (e.data.task_id as number) ?? null,
          task_type: e.data.task_type as string,
          error: String(e.data.reason),
        }]
        : ((e.data.results ?? []) as Array<{ task_id: number; id: number; task_type: string }>).map((r, i) => ({
          key: `${e.id}:${i}`,
          at: e.at,
          task_id: r.task_id,
          id: r.id,
          task_type: r.task_type,
        }))
    );
    const dead = await hub.queue.dead.list(org, { kind: taskProcessKind.kind, limit: 50 });
    const canOperate = hasRole(page.role, "operator");
    const isAdmin = hasRole(page.role, "admin");
    const settings = isAdmin
      ? {
        dadata: await hub.settings.masked(org, "dadata"),
        yandexgpt: await hub.settings.masked(org, "yandexgpt"),
        enrichment: await hub.settings.masked(org, "enrichment"),
      }
      : null;
    const qs = (p: Record<string, string | undefined>) =>
      "?" + Object.entries(p).filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v!)}`).join("&");
    return render(
      c,
      <Layout title="Enrichment" active="enrichment" page={page}>
        <p>
          Tasks by REST, by queue or from RabbitMQ → DaData (phone, email) or YandexGPT (gpt) → a row in{" "}
          <code>integration_service</code> → the result queue. Sink: <strong>{status.sink}</strong>. RabbitMQ:{" "}
          <strong data-testid="amqp-state">{status.amqp.state}</strong>
          {"lastError" in status.amqp && status.amqp.lastError && <small>({status.amqp.lastError})</small>}
        </p>
        <div class="kpis" data-testid="enrichment-stats">
          {TASK_TYPES.map((t) => {
            const s = stats[t] ?? { done: 0, failed: 0 };
            const total = s.done + s.failed;
            return (
              <article key={t}>
                <strong>{s.done}</strong> {t} done<br />
                <small>
                  {s.failed} failed · error rate {total ? ((s.failed / total) * 100).toFixed(1) : "0.0"}%
                </small>
              </article>
            );
          })}
        </div>
        <h2>Live</h2>
        <Island name="enrichment_live" props={{ initial, timeZone: tz, canSubmit: canOperate }} />
        <h2>Rows</h2>
        <form method="get" role="search">
          <select name="type" aria-label="type">
            <option value="">all types</option>
            {TASK_TYPES.map((t) => <option key={t} value={t} selected={t === type}>{t}</option>)}
          </select>
          <button type="submit">Filter</button>
        </form>
        <div class="overflow-auto">
          <table class="striped" data-testid="rows">
            <thead>
              <tr>
                <th>id</th>
                <th>task_id</th>
                <th>type</th>
                <th>source</th>
                <th>data</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {rows.items.map((r) => (
                <tr key={r.id}>
                  <td>
                    <a href={`/admin/enrichment/rows/${r.id}`}>{r.id}</a>
                  </td>
                  <td>{r.task_id}</td>
                  <td>{r.task_type}</td>
                  <td>{r.source.slice(0, 80)}</td>
                  <td>
                    <small>
                      <code>{(typeof r.data === "string" ? r.data : JSON.stringify(r.data)).slice(0, 160)}</code>
                    </small>
                  </td>
                  <td>{new Date(r.created_at).toLocaleString("ru-RU", { timeZone: tz })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows.cursor && <a href={qs({ type, cursor: rows.cursor })}>Older →</a>}
        <h2>Dead letters</h2>
        {dead.items.length === 0 ? <p>No failed tasks.</p> : (
          <div class="overflow-auto">
            <table class="striped" data-testid="enrichment-dead">
              <thead>
                <tr>
                  <th>Failed</th>
                  <th>Task</th>
                  <th>Reason</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                {dead.items.map((d) => {
                  const tasks =
                    ((d.envelope as { payload?: { tasks?: Array<{ task?: unknown }> } })?.payload?.tasks ?? [])
                      .map((t) => JSON.stringify(t.task)).join(", ");
                  return (
                    <tr key={d.id}>
                      <td>{new Date(d.failedAt || Date.now()).toLocaleString("ru-RU", { timeZone: tz })}</td>
                      <td>
                        <small>
                          <code>{tasks.slice(0, 300)}</code>
                        </small>
                      </td>
                      <td>{d.reason}</td>
                      <td>
                        {canOperate && (
                          <Island
                            name="api_action"
                            props={{ action: `/api/v1/dead-letters/${d.id}/redrive`, label: "Re-drive" }}
                          />
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {settings && (
          <>
            <h2>Settings</h2>
            <p>
              <small>
                Empty fields keep the stored value. The environment's DADATA_* / YANDEXGPT_* keys apply only while the
                organization sets neither a base URL nor keys of its own; changing the base URL to another site needs
                the keys again.
              </small>
            </p>
            <details>
              <summary>DaData {settings.dadata.apiKey ? "(key set)" : "(environment defaults)"}</summary>
              <Island
                name="api_form"
                props={{
                  action: "/api/v1/enrichment/settings/dadata",
                  method: "PUT",
                  submitLabel: "Save DaData settings",
                  fields: [
                    { name: "apiKey", label: "API key", type: "password" },
                    { name: "secretKey", label: "Secret key", type: "password" },
                    { name: "baseUrl", label: "Base URL", type: "url", value: settings.dadata.baseUrl ?? "" },
                  ],
                }}
              />
            </details>
            <details>
              <summary>YandexGPT {settings.yandexgpt.apiKey ? "(key set)" : "(environment defaults)"}</summary>
              <Island
                name="api_form"
                props={{
                  action: "/api/v1/enrichment/settings/yandexgpt",
                  method: "PUT",
                  submitLabel: "Save YandexGPT settings",
                  fields: [
                    { name: "apiKey", label: "API key", type: "password" },
                    { name: "folderId", label: "Folder id", value: settings.yandexgpt.folderId ?? "" },
                    {
                      name: "model",
                      label: "Model",
                      value: settings.yandexgpt.model ?? "",
                      placeholder: "yandexgpt-lite/latest",
                    },
                    {
                      name: "systemPrompt",
                      label: "System prompt",
                      type: "textarea",
                      value: settings.yandexgpt.systemPrompt ?? "",
                    },
                    {
                      name: "temperature",
                      label: "Temperature (0–1)",
                      type: "number",
                      value: settings.yandexgpt.temperature as number ?? "",
                    },
                    {
                      name: "maxTokens",
                      label: "Max tokens",
                      type: "number",
                      value: settings.yandexgpt.maxTokens as number ?? "",
                    },
                    { name: "baseUrl", label: "Base URL", type: "url", value: settings.yandexgpt.baseUrl ?? "" },
                  ],
                }}
              />
            </details>
            <details>
              <summary>
                Result webhook {settings.enrichment.webhookUrl ? `(${settings.enrichment.webhookUrl})` : "(off)"}
              </summary>
              <Island
                name="api_form"
                props={{
                  action: "/api/v1/enrichment/settings/enrichment",
                  method: "PUT",
                  submitLabel: "Save webhook",
                  fields: [
                    { name: "webhookUrl", label: "URL", type: "url", value: settings.enrichment.webhookUrl ?? "" },
                    { name: "webhookSecret", label: "Secret (HMAC-SHA256 key)", type: "password" },
                  ],
                }}
              />
            </details>
          </>
        )}
      </Layout>,
    );
  });

  app.get("/rows/:id", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const id = Number(c.req.param("id"));
    const row = Number.isSafeInteger(id) ? await hub.enrichment.sink.get(page.org.id, id) : null;
    return render(
      c,
      <Layout title={`Row ${c.req.param("id")}`} active="enrichment" page={page}>
        {row ? <pre data-testid="row"><code>{JSON.stringify(row, null, 2)}</code></pre> : <p>No such row.</p>}
        <a href="/admin/enrichment">← Enrichment</a>
      </Layout>,
      row ? 200 : 404,
    );
  });
  return app;
}
