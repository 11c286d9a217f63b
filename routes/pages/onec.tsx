/** The "1C → Bitrix24" admin page: settings, load board, caches, intake log and live events. */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island, registerIsland } from "./island.tsx";
import { CardTable } from "../../islands/_card_table.tsx";
import { requirePage } from "../middleware/auth.ts";
import { formText, islandI18n, pageT } from "./i18n.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import OnecLoadBoard from "../../islands/onec_load_board.tsx";
import OnecIntakeLog from "../../islands/onec_intake_log.tsx";
import { maskWebhook } from "../onec.ts";
import type { LoadBoardSection } from "../../lib/onec/service.ts";
import { MAX_BUDGET_MS, SETTINGS_SECTION } from "../../lib/onec/settings.ts";

registerIsland("onec_load_board", OnecLoadBoard);
registerIsland("onec_intake_log", OnecIntakeLog);

export function onecPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t, dateTime } = pageT(page);
    const org = page.org.id;
    const svc = hub.onec;
    const settings = await svc.settings(org);
    const tz = settings.timeZone;
    let board: LoadBoardSection[] | null = null;
    let boardError: string | undefined;
    if (settings.webhookUrl) {
      try {
        board = await svc.loadBoard(org);
      } catch (error) {
        boardError = error instanceof Error ? error.message : String(error);
      }
    } else {
      boardError = t("onec.board.notConfigured");
    }
    const [log, cache, events] = await Promise.all([
      svc.readLog(org, 50),
      svc.cacheState(org),
      hub.events.recent(org, { types: ["onec.*"], limit: 20 }),
    ]);
    const isAdmin = hasRole(page.role, "admin");
    const i18n = islandI18n(page, ["onec."]);
    const stored = isAdmin ? await hub.settings.read(org, SETTINGS_SECTION) ?? {} : {};
    const webhookSource = stored.webhookUrl
      ? t("settings.source.org")
      : settings.webhookUrl
      ? t("settings.source.envNamed", { name: "BITRIX_WEBHOOK" })
      : t("settings.source.none");
    const [leadBefore, leadRest] = t("onec.lead", {
      root: "\u0001",
      api: "\u0002",
      department: settings.productionDepartment,
      project: settings.projectName,
    }).split("\u0001");
    const [leadMiddle, leadAfter] = (leadRest ?? "").split("\u0002");
    return render(
      c,
      <Layout title={t("common.nav.onec")} active="onec" page={page}>
        <p>
          {leadBefore}
          <code>POST /</code>
          {leadMiddle}
          <code>/api/v1/onec/tasks</code>
          {leadAfter}
        </p>
        <h2>{t("onec.board")}</h2>
        <Island name="onec_load_board" props={{ initial: board, error: boardError, i18n }} />

        <h2>{t("onec.log")}</h2>
        <Island name="onec_intake_log" props={{ initial: log, zone: tz, i18n }} />

        <h2>{t("onec.cache")}</h2>
        <CardTable
          testId="onec-cache"
          rows={cache}
          rowKey={(e) => e.key}
          rowProps={(e) => ({ "data-key": e.key, "data-fresh": String(e.fresh) })}
          columns={[
            { label: t("onec.cache.col.entry"), cell: (e) => <code>{e.key}</code> },
            { label: t("onec.cache.col.loaded"), cell: (e) => dateTime(e.fetchedAt, page.timeZone) },
            {
              label: t("onec.cache.col.expires"),
              cell: (e) => e.fresh ? dateTime(e.expiresAt, page.timeZone) : <mark>{t("onec.cache.expired")}</mark>,
            },
          ]}
        />
        {cache.length === 0 && <p>{t("onec.cache.empty")}</p>}
        {hasRole(page.role, "operator") && settings.webhookUrl && (
          <Island
            name="api_action"
            props={{
              action: "/api/v1/onec/cache/refresh",
              label: t("onec.cache.refresh"),
              done: t("onec.cache.refreshed"),
              failed: t("common.failed"),
              testId: "cache-refresh",
            }}
          />
        )}

        <h2>{t("onec.events")}</h2>
        <Island
          name="events_feed"
          props={{ initial: events, types: ["onec.*"], i18n: islandI18n(page, ["events."]) }}
        />

        {isAdmin && (
          <details>
            <summary>{t("onec.settings")}</summary>
            <Island
              name="api_form"
              props={{
                action: "/api/v1/onec/settings",
                method: "PUT",
                submitLabel: t("onec.settings.save"),
                text: formText(page),
                fields: [
                  {
                    name: "webhookUrl",
                    label: t("onec.settings.webhook") +
                      (settings.webhookUrl
                        ? ` (${t("onec.settings.webhook.keep", { masked: maskWebhook(settings.webhookUrl) })})`
                        : ""),
                    type: "password",
                    placeholder: "https://portal.bitrix24.ru/rest/1/xxxxxxxx/",
                    source: webhookSource,
                    reset: stored.webhookUrl ? t("onec.settings.webhook.reset") : undefined,
                  },
                  {
                    name: "productionDepartment",
                    label: t("onec.settings.department"),
                    value: settings.productionDepartment,
                  },
                  { name: "projectName", label: t("onec.settings.project"), value: settings.projectName },
                  {
                    name: "fallback",
                    label: t("onec.settings.fallback"),
                    type: "select",
                    options: [
                      { value: "head", label: t("onec.settings.fallback.head") },
                      { value: "user", label: t("onec.settings.fallback.user") },
                    ],
                    value: settings.fallback,
                  },
                  {
                    name: "fallbackUserId",
                    clearable: true,
                    label: t("onec.settings.fallbackUser"),
                    type: "number",
                    value: settings.fallbackUserId ?? "",
                  },
                  {
                    name: "defaultAuthorId",
                    clearable: true,
                    label: t("onec.settings.author"),
                    type: "number",
                    value: settings.defaultAuthorId ?? "",
                  },
                  {
                    name: "fuzzyMatch",
                    label: t("onec.settings.fuzzy"),
                    type: "checkbox",
                    value: settings.fuzzyMatch,
                  },
                  { name: "ratePerSec", label: t("onec.settings.rate"), type: "number", value: settings.ratePerSec },
                  { name: "burst", label: t("onec.settings.burst"), type: "number", value: settings.burst },
                  {
                    name: "budgetMs",
                    label: t("onec.settings.budget", { max: MAX_BUDGET_MS }),
                    type: "number",
                    value: settings.budgetMs,
                  },
                  {
                    name: "reconcileGraceMs",
                    label: t("onec.settings.grace"),
                    type: "number",
                    value: settings.reconcileGraceMs,
                  },
                  {
                    name: "ttlDepartments",
                    label: t("onec.settings.ttlDepartments"),
                    type: "number",
                    value: settings.ttlDepartments,
                  },
                  { name: "ttlUsers", label: t("onec.settings.ttlUsers"), type: "number", value: settings.ttlUsers },
                  {
                    name: "ttlPresence",
                    label: t("onec.settings.ttlPresence"),
                    type: "number",
                    value: settings.ttlPresence,
                  },
                  {
                    name: "ttlProject",
                    label: t("onec.settings.ttlProject"),
                    type: "number",
                    value: settings.ttlProject,
                  },
                ],
              }}
            />
          </details>
        )}
      </Layout>,
    );
  });
  return app;
}
