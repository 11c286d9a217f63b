/**
 * The Scheduler page: schedules with their next run (and zone), admin actions
 * (run now, enable/disable, edit, delete), a form to add one, runs arriving
 * live. A schedule's own page and a run's page are in scheduler_detail.tsx.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island, registerIsland } from "./island.tsx";
import SchedulerLive, { type RunRow, toRow } from "../../islands/scheduler_live.tsx";
import SchedulerForm from "../../islands/scheduler_form.tsx";
import { schedulableJobs, schedulerDetailPages } from "./scheduler_detail.tsx";
import { islandI18n, pageT } from "./i18n.ts";
import { describeCron } from "../../lib/scheduler/cron_words.ts";
import type { PageContext } from "../app_env.ts";

/** Each distinct cron expression of `schedules` in words, for the live table. */
export function cronWordsOf(page: PageContext, crons: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const cron of crons) {
    const words = describeCron(cron, page.locale);
    if (words) out[cron] = words;
  }
  return out;
}

registerIsland("scheduler_live", SchedulerLive);
registerIsland("scheduler_form", SchedulerForm);

export function schedulerPages(hub: Hub) {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const org = page.org.id;
    const scheduler = hub.scheduler;
    const [list, runs, tz] = await Promise.all([
      scheduler.list(org),
      scheduler.recentRuns(org, { limit: 50 }),
      scheduler.defaultTimezone(org),
    ]);
    const canWrite = hasRole(page.role, "admin");
    const { t } = pageT(page);
    const i18n = islandI18n(page, ["scheduler."]);
    return render(
      c,
      <Layout title={t("scheduler.title")} active="scheduler" page={page}>
        <p>{t("scheduler.lead", { zone: tz })}</p>
        <Island
          name="scheduler_live"
          props={{
            schedules: list.map(toRow),
            runs: runs as RunRow[],
            canWrite,
            cronWords: cronWordsOf(page, list.map((s) => s.cron)),
            i18n,
          }}
        />
        {canWrite && (
          <details>
            <summary>{t("scheduler.new")}</summary>
            <Island name="scheduler_form" props={{ defaultTimezone: tz, jobs: schedulableJobs(hub), i18n }} />
          </details>
        )}
      </Layout>,
    );
  });
  app.route("/", schedulerDetailPages(hub));
  return app;
}
