/** The Scheduler page: schedules with their next run (and zone), a form to add one, runs arriving live. */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island, registerIsland } from "./island.tsx";
import { schedulerOf } from "../../jobs/schedule_fire.ts";
import SchedulerLive, { describe, type RunRow, type ScheduleRow } from "../../islands/scheduler_live.tsx";
import SchedulerForm from "../../islands/scheduler_form.tsx";

registerIsland("scheduler_live", SchedulerLive);
registerIsland("scheduler_form", SchedulerForm);

export function schedulerPages(hub: Hub) {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const org = page.org.id;
    const scheduler = schedulerOf(hub);
    const [list, runs, tz] = await Promise.all([
      scheduler.list(org),
      scheduler.recentRuns(org, { limit: 50 }),
      scheduler.defaultTimezone(org),
    ]);
    const schedules: ScheduleRow[] = list.map((s) => ({
      id: s.id,
      name: s.name,
      cron: s.cron,
      timezone: s.timezone,
      enabled: s.enabled,
      action: describe(s.action),
      nextRunLocal: s.nextRunLocal,
    }));
    const canWrite = hasRole(page.role, "admin");
    const jobs = hub.queue.kinds().filter((k) => !k.startsWith("schedule."));
    return render(
      c,
      <Layout title="Scheduler" active="scheduler" page={page}>
        <p>
          Cron schedules that call HTTP endpoints or start Shlyuz jobs. The organization's default time zone is{" "}
          <strong>{tz}</strong>; every time is shown with its zone.
        </p>
        <Island name="scheduler_live" props={{ schedules, runs: runs as RunRow[], canWrite }} />
        {canWrite && (
          <details>
            <summary>New schedule</summary>
            <Island name="scheduler_form" props={{ defaultTimezone: tz, jobs }} />
          </details>
        )}
      </Layout>,
    );
  });
  return app;
}
