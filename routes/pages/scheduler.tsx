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
    return render(
      c,
      <Layout title="Scheduler" active="scheduler" page={page}>
        <p>
          Cron schedules that call HTTP endpoints or start Shlyuz jobs. The organization's default time zone is{" "}
          <strong>{tz}</strong>; every time is shown with its zone. Open a schedule for its settings and run history
          {canWrite ? " (and to edit it)" : ""}, a run for its saved response.
        </p>
        <Island
          name="scheduler_live"
          props={{ schedules: list.map(toRow), runs: runs as RunRow[], canWrite }}
        />
        {canWrite && (
          <details>
            <summary>New schedule</summary>
            <Island name="scheduler_form" props={{ defaultTimezone: tz, jobs: schedulableJobs(hub) }} />
          </details>
        )}
      </Layout>,
    );
  });
  app.route("/", schedulerDetailPages(hub));
  return app;
}
