/** The "1C → Bitrix24" admin page: settings, load board, caches, intake log and live events. */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island, registerIsland } from "./island.tsx";
import { requirePage } from "../middleware/auth.ts";
import { islandI18n } from "./i18n.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import OnecLoadBoard from "../../islands/onec_load_board.tsx";
import OnecIntakeLog from "../../islands/onec_intake_log.tsx";
import { maskWebhook } from "../onec.ts";
import { type LoadBoardSection, NOT_CONFIGURED_MESSAGE } from "../../lib/onec/service.ts";
import { MAX_BUDGET_MS } from "../../lib/onec/settings.ts";

registerIsland("onec_load_board", OnecLoadBoard);
registerIsland("onec_intake_log", OnecIntakeLog);

export function onecPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const org = page.org.id;
    const svc = hub.onec;
    const settings = await svc.settings(org);
    const tz = settings.timeZone;
    const when = (ms: number) => new Date(ms).toLocaleString("ru-RU", { timeZone: tz, hour12: false });
    let board: LoadBoardSection[] | null = null;
    let boardError: string | undefined;
    if (settings.webhookUrl) {
      try {
        board = await svc.loadBoard(org);
      } catch (error) {
        boardError = error instanceof Error ? error.message : String(error);
      }
    } else {
      boardError = `${NOT_CONFIGURED_MESSAGE}.`;
    }
    const [log, cache, events] = await Promise.all([
      svc.readLog(org, 50),
      svc.cacheState(org),
      hub.events.recent(org, { types: ["onec.*"], limit: 20 }),
    ]);
    const isAdmin = hasRole(page.role, "admin");
    return render(
      c,
      <Layout title="1C → Bitrix24" active="onec" page={page}>
        <p>
          1C sends tasks to <code>POST /</code> (or{" "}
          <code>/api/v1/onec/tasks</code>) with an operator token; each goes to the least-busy employee of the matching
          «{settings.productionDepartment}» section, in the project «{settings.projectName}».
        </p>
        <h2>Load by section</h2>
        <Island name="onec_load_board" props={{ initial: board, error: boardError }} />

        <h2>Intake log</h2>
        <Island name="onec_intake_log" props={{ initial: log, timeZone: tz }} />

        <h2>Cache</h2>
        <div class="overflow-auto">
          <table data-testid="onec-cache">
            <thead>
              <tr>
                <th>Entry</th>
                <th>Loaded</th>
                <th>Expires</th>
              </tr>
            </thead>
            <tbody>
              {cache.map((e) => (
                <tr key={e.key} data-key={e.key} data-fresh={String(e.fresh)}>
                  <td>
                    <code>{e.key}</code>
                  </td>
                  <td>{when(e.fetchedAt)}</td>
                  <td>{e.fresh ? when(e.expiresAt) : <mark>expired</mark>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {cache.length === 0 && <p>Nothing cached yet.</p>}
        </div>
        {hasRole(page.role, "operator") && settings.webhookUrl && (
          <Island name="api_action" props={{ action: "/api/v1/onec/cache/refresh", label: "Refresh caches now" }} />
        )}

        <h2>Live events</h2>
        <Island
          name="events_feed"
          props={{ initial: events, types: ["onec.*"], i18n: islandI18n(page, ["events."]) }}
        />

        {isAdmin && (
          <details>
            <summary>Settings</summary>
            <Island
              name="api_form"
              props={{
                action: "/api/v1/onec/settings",
                method: "PUT",
                submitLabel: "Save",
                fields: [
                  {
                    name: "webhookUrl",
                    label: `Inbound webhook URL${
                      settings.webhookUrl ? ` (now ${maskWebhook(settings.webhookUrl)}; leave empty to keep)` : ""
                    }`,
                    type: "password",
                    placeholder: "https://portal.bitrix24.ru/rest/1/xxxxxxxx/",
                  },
                  {
                    name: "productionDepartment",
                    label: "Production department",
                    value: settings.productionDepartment,
                  },
                  { name: "projectName", label: "Project", value: settings.projectName },
                  {
                    name: "fallback",
                    label: "Fallback",
                    type: "select",
                    options: ["head", "user"],
                    value: settings.fallback,
                  },
                  {
                    name: "fallbackUserId",
                    clearable: true,
                    label: "Fallback user id",
                    type: "number",
                    value: settings.fallbackUserId ?? "",
                  },
                  {
                    name: "defaultAuthorId",
                    clearable: true,
                    label: "Default author id",
                    type: "number",
                    value: settings.defaultAuthorId ?? "",
                  },
                  { name: "fuzzyMatch", label: "Fuzzy section matching", type: "checkbox", value: settings.fuzzyMatch },
                  {
                    name: "ratePerSec",
                    label: "Requests per second (2; Enterprise 5)",
                    type: "number",
                    value: settings.ratePerSec,
                  },
                  { name: "burst", label: "Burst (50; Enterprise 250)", type: "number", value: settings.burst },
                  {
                    name: "budgetMs",
                    label: `Time budget per 1C request, ms (at most ${MAX_BUDGET_MS})`,
                    type: "number",
                    value: settings.budgetMs,
                  },
                  {
                    name: "reconcileGraceMs",
                    label: "After a lost create answer, only look for the task for, ms (over 60000)",
                    type: "number",
                    value: settings.reconcileGraceMs,
                  },
                  {
                    name: "ttlDepartments",
                    label: "Departments cache, s",
                    type: "number",
                    value: settings.ttlDepartments,
                  },
                  { name: "ttlUsers", label: "Staff cache, s", type: "number", value: settings.ttlUsers },
                  {
                    name: "ttlPresence",
                    label: "Absences/schedules cache, s",
                    type: "number",
                    value: settings.ttlPresence,
                  },
                  { name: "ttlProject", label: "Project cache, s", type: "number", value: settings.ttlProject },
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
