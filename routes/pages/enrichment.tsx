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
import { TASK_TYPES, type TaskType } from "../../lib/enrichment/task_schema.ts";
import { taskProcessKind } from "../../lib/enrichment/kinds.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island, registerIsland } from "./island.tsx";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import EnrichmentLive, { type LiveRow } from "../../islands/enrichment_live.tsx";
import EnrichmentBoard from "../../islands/enrichment_board.tsx";
import { KeyValues } from "../../islands/_kv.tsx";
import { CardTable } from "../../islands/_card_table.tsx";
import { RedriveButton } from "./redrive_button.tsx";
import { formText, islandI18n, pageT } from "./i18n.ts";
import type { MessageKey, Translator } from "../../lib/i18n/mod.ts";
import type { PageContext } from "../app_env.ts";
import { type SectionSources, type SettingSource, settingSources } from "../../lib/enrichment/setting_sources.ts";

registerIsland("enrichment_live", EnrichmentLive);
registerIsland("enrichment_board", EnrichmentBoard);

/** Pages under /admin/enrichment. */
export function enrichmentPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t, dateTime } = pageT(page);
    const org = page.org.id;
    const svc = hub.enrichment;
    const typeQ = c.req.query("type");
    const type = TASK_TYPES.includes(typeQ as TaskType) ? typeQ as TaskType : undefined;
    const cursor = c.req.query("cursor") || undefined;
    const rows = await svc.sink.list(org, { type, cursor, limit: 25 });
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
    const i18n = islandI18n(page, ["enrichment."]);
    const settingsView = isAdmin ? await loadSettingsView(hub, org) : null;
    const typeName = (type: string) => TYPE_LABEL[type] ? t(TYPE_LABEL[type]) : type;
    const [leadBefore, leadAfter] = t("enrichment.lead", { table: "\u0001" }).split("\u0001");
    const qs = (p: Record<string, string | undefined>) =>
      "?" + Object.entries(p).filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v!)}`).join("&");
    const amqpState = status.amqp.state;
    return render(
      c,
      <Layout title={t("common.nav.enrichment")} active="enrichment" page={page}>
        <p>
          {leadBefore}
          <code>integration_service</code>
          {leadAfter}
        </p>
        <p>
          <small>
            {t("enrichment.status", { sink: status.sink, amqp: "\u0001" }).split("\u0001")[0]}
            <strong data-testid="amqp-state" data-state={amqpState}>
              {AMQP_LABEL[amqpState] ? t(AMQP_LABEL[amqpState]) : amqpState}
            </strong>
            {"lastError" in status.amqp && status.amqp.lastError && <>({status.amqp.lastError})</>}
          </small>
        </p>
        <Island name="enrichment_board" props={{ part: "stats", types: TASK_TYPES, stats, i18n }} />
        <h2>{t("enrichment.live")}</h2>
        <Island name="enrichment_live" props={{ initial, canSubmit: canOperate, i18n }} />
        <h2>{t("enrichment.rows")}</h2>
        <form method="get" role="search" class="filter">
          <select name="type" aria-label={t("enrichment.form.type")}>
            <option value="">{t("enrichment.rows.all")}</option>
            {TASK_TYPES.map((x) => <option key={x} value={x} selected={x === type}>{typeName(x)}</option>)}
          </select>
          <button type="submit">{t("common.filter")}</button>
        </form>
        <Island
          name="enrichment_board"
          props={{ part: "rows", types: TASK_TYPES, rows: rows.items, type, follow: !cursor, i18n }}
        />
        {rows.cursor && <a href={qs({ type, cursor: rows.cursor })}>{t("common.older")}</a>}
        <h2>{t("enrichment.dead")}</h2>
        {dead.items.length === 0 ? <p>{t("enrichment.dead.empty")}</p> : (
          <CardTable
            testId="enrichment-dead"
            rows={dead.items}
            rowKey={(d) => d.id}
            rowProps={(d) => ({ "data-dead-id": d.id })}
            columns={[
              {
                label: t("enrichment.dead.col.failed"),
                class: "nowrap-cell",
                cell: (d) => dateTime(d.failedAt || Date.now(), page.timeZone),
              },
              {
                label: t("enrichment.dead.col.task"),
                cell: (d) => {
                  const tasks =
                    ((d.envelope as { payload?: { tasks?: Array<{ task?: unknown }> } })?.payload?.tasks ?? [])
                      .map((x) => x.task).slice(0, 5);
                  return <KeyValues data={tasks.length === 1 ? tasks[0] : tasks} limit={12} />;
                },
              },
              { label: t("enrichment.dead.col.reason"), cell: (d) => d.reason },
              canOperate && {
                label: t("enrichment.dead.col.actions"),
                class: "actions",
                cell: (d) => <RedriveButton id={d.id} t={t} />,
              },
            ]}
          />
        )}
        {settingsView && <EnrichmentSettings hub={hub} page={page} view={settingsView} />}
      </Layout>,
    );
  });

  app.get("/rows/:id", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t, dateTime } = pageT(page);
    const id = Number(c.req.param("id"));
    const row = Number.isSafeInteger(id) ? await hub.enrichment.sink.get(page.org.id, id) : null;
    return render(
      c,
      <Layout title={t("enrichment.row.title", { id: c.req.param("id") })} active="enrichment" page={page}>
        {row
          ? (
            <div data-testid="row">
              <KeyValues
                data={{ ...row, created_at: dateTime(row.created_at, page.timeZone) }}
                limit={200}
                labels={DADATA_LABELS}
              />
            </div>
          )
          : <p>{t("enrichment.row.missing")}</p>}
        <a href="/admin/enrichment">{t("enrichment.row.back")}</a>
      </Layout>,
      row ? 200 : 404,
    );
  });
  return app;
}

const TYPE_LABEL: Record<string, MessageKey> = {
  phone: "enrichment.type.phone",
  email: "enrichment.type.email",
  gpt: "enrichment.type.gpt",
};
const AMQP_LABEL: Record<string, MessageKey> = {
  connecting: "enrichment.amqp.connecting",
  connected: "enrichment.amqp.connected",
  disconnected: "enrichment.amqp.disconnected",
  closed: "enrichment.amqp.closed",
  disabled: "enrichment.amqp.disabled",
};
/** DaData's result fields keep their API names: they are what integration_service stores and SQL reads. */
const DADATA_LABELS: Record<string, string> = {};

/** Words for where a setting's value comes from. */
function sourceText(t: Translator["t"], s: SettingSource | undefined): string | undefined {
  if (!s) return undefined;
  if (s.from === "organization") return t("settings.source.org");
  if (s.from === "environment") {
    return s.value !== undefined
      ? t("settings.source.envValue", { name: s.variable, value: s.value })
      : t("settings.source.envNamed", { name: s.variable });
  }
  if (s.from === "default") {
    return s.value ? t("settings.source.default", { value: s.value }) : t("settings.source.none");
  }
  return s.envOff ? t("settings.source.envOff") : t("settings.source.none");
}

const KEYS_LABEL: Record<SectionSources["credentials"], MessageKey> = {
  organization: "enrichment.settings.keys.organization",
  environment: "enrichment.settings.keys.environment",
  none: "enrichment.settings.keys.none",
  environment_off: "enrichment.settings.keys.environment_off",
};

type SettingsView = Awaited<ReturnType<typeof loadSettingsView>>;

/** What the settings part shows: stored values (secrets masked) and where each value comes from. */
async function loadSettingsView(hub: Hub, org: string) {
  const [ddStored, ygStored, masked] = await Promise.all([
    hub.settings.read(org, "dadata"),
    hub.settings.read(org, "yandexgpt"),
    Promise.all(["dadata", "yandexgpt", "enrichment"].map((s) => hub.settings.masked(org, s))),
  ]);
  // Only whether a secret is stored leaves this function, never its value.
  const has = (stored: Record<string, unknown> | null) =>
    Object.fromEntries(Object.entries(stored ?? {}).map(([k, v]) => [k, v !== undefined && v !== null && v !== ""]));
  return {
    ddStored: has(ddStored),
    ygStored: has(ygStored),
    dd: masked[0],
    yg: masked[1],
    wh: masked[2],
    ddSources: settingSources("dadata", ddStored, hub.config),
    ygSources: settingSources("yandexgpt", ygStored, hub.config),
  };
}

/** DaData, YandexGPT and webhook settings: each field with where its value comes from, and a way back to the env. */
function EnrichmentSettings({ hub, page, view }: { hub: Hub; page: PageContext; view: SettingsView }) {
  const { t } = pageT(page);
  const { ddStored, ygStored, dd, yg, wh, ddSources, ygSources } = view;
  const text = formText(page);
  const src = (sources: SectionSources, f: string) => sourceText(t, sources.fields[f]);
  const reset = (stored: Record<string, boolean>, f: string) =>
    stored[f] ? t("enrichment.settings.resetKey") : undefined;
  return (
    <>
      <h2>{t("enrichment.settings")}</h2>
      <p>
        <small>{t("enrichment.settings.lead")}</small>
      </p>
      <details data-testid="dadata-settings">
        <summary>
          DaData <small data-testid="dadata-keys">({t(KEYS_LABEL[ddSources.credentials])})</small>
        </summary>
        <Island
          name="api_form"
          props={{
            action: "/api/v1/enrichment/settings/dadata",
            method: "PUT",
            submitLabel: t("enrichment.settings.saveDadata"),
            text,
            fields: [
              {
                name: "apiKey",
                label: t("enrichment.settings.apiKey"),
                type: "password",
                source: src(ddSources, "apiKey"),
                reset: reset(ddStored, "apiKey"),
              },
              {
                name: "secretKey",
                label: t("enrichment.settings.secretKey"),
                type: "password",
                source: src(ddSources, "secretKey"),
                reset: reset(ddStored, "secretKey"),
              },
              {
                name: "baseUrl",
                label: t("enrichment.settings.baseUrl"),
                type: "url",
                value: (dd.baseUrl as string) ?? "",
                placeholder: hub.config.DADATA_BASE_URL,
                clearable: true,
                source: src(ddSources, "baseUrl"),
              },
            ],
          }}
        />
      </details>
      <details data-testid="yandexgpt-settings">
        <summary>
          YandexGPT <small data-testid="yandexgpt-keys">({t(KEYS_LABEL[ygSources.credentials])})</small>
        </summary>
        <Island
          name="api_form"
          props={{
            action: "/api/v1/enrichment/settings/yandexgpt",
            method: "PUT",
            submitLabel: t("enrichment.settings.saveGpt"),
            text,
            fields: [
              {
                name: "apiKey",
                label: t("enrichment.settings.apiKey"),
                type: "password",
                source: src(ygSources, "apiKey"),
                reset: reset(ygStored, "apiKey"),
              },
              ...(["folderId", "model", "systemPrompt", "temperature", "maxTokens", "baseUrl"] as const).map((f) => ({
                name: f,
                label: t(GPT_FIELD[f]),
                type: f === "systemPrompt"
                  ? "textarea" as const
                  : f === "temperature" || f === "maxTokens"
                  ? "number" as const
                  : f === "baseUrl"
                  ? "url" as const
                  : "text" as const,
                value: (yg[f] as string | number) ?? "",
                placeholder: f === "model"
                  ? hub.config.YANDEXGPT_MODEL
                  : f === "baseUrl"
                  ? hub.config.YANDEXGPT_BASE_URL
                  : undefined,
                clearable: true,
                source: src(ygSources, f),
              })),
            ],
          }}
        />
      </details>
      <details data-testid="webhook-settings">
        <summary>
          {t("enrichment.settings.webhook")}{" "}
          <small>({wh.webhookUrl ? String(wh.webhookUrl) : t("enrichment.settings.webhook.off")})</small>
        </summary>
        <Island
          name="api_form"
          props={{
            action: "/api/v1/enrichment/settings/enrichment",
            method: "PUT",
            submitLabel: t("enrichment.settings.saveWebhook"),
            text,
            fields: [
              {
                name: "webhookUrl",
                label: t("enrichment.settings.webhookUrl"),
                type: "url",
                value: (wh.webhookUrl as string) ?? "",
                clearable: true,
              },
              {
                name: "webhookSecret",
                label: t("enrichment.settings.webhookSecret"),
                type: "password",
                reset: wh.webhookSecret ? t("enrichment.settings.resetKey") : undefined,
              },
            ],
          }}
        />
      </details>
    </>
  );
}

const GPT_FIELD: Record<string, MessageKey> = {
  folderId: "enrichment.settings.folderId",
  model: "enrichment.settings.model",
  systemPrompt: "enrichment.settings.systemPrompt",
  temperature: "enrichment.settings.temperature",
  maxTokens: "enrichment.settings.maxTokens",
  baseUrl: "enrichment.settings.baseUrl",
};
