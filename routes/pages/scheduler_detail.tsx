/**
 * A schedule's page (its settings, the edit form for admins, its run history
 * newest first with cursor pages) and a run's page (times with their zone,
 * outcome, HTTP status, error and the saved response body).
 */
import { Hono } from "hono";
import type { ComponentChildren } from "preact";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import type { Run, RunSummary } from "../../lib/scheduler/mod.ts";
import type { ScheduleView } from "../../lib/scheduler/service.ts";
import { describe } from "../../islands/scheduler_live.tsx";
import { KeyValues } from "../../islands/_kv.tsx";
import { OUTCOME_LABEL, TRIGGER_LABEL } from "../../islands/_run_table.tsx";
import { type IslandTranslator, islandTranslator } from "../../islands/_i18n.ts";
import { islandI18n } from "./i18n.ts";
import { describeCron } from "../../lib/scheduler/cron_words.ts";
import type { PageContext } from "../app_env.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island, registerIsland } from "./island.tsx";
import ScheduleRuns, { type HistoryRun } from "../../islands/schedule_runs.tsx";
import { pathId } from "../openapi.ts";

const PAGE_SIZE = 50;

registerIsland("schedule_runs", ScheduleRuns);

/** What the live history needs of a run (island props are JSON: only these fields travel). */
function historyRun(r: RunSummary): HistoryRun {
  return {
    id: r.id,
    trigger: r.trigger,
    outcome: r.outcome,
    plannedAt: r.plannedAt,
    timezone: r.timezone,
    httpStatus: r.httpStatus,
    durationMs: r.durationMs,
    reason: r.reason,
  };
}

/** Job kinds an organization may schedule, each with its payload's JSON Schema for the form. */
export function schedulableJobs(hub: Hub): Array<{ kind: string; payloadSchema: Record<string, unknown> }> {
  return hub.queue.schedulableKinds().map((kind) => ({
    kind,
    payloadSchema: hub.queue.schedulablePayloadSchema(kind) ?? {},
  }));
}

/** The scheduler's translator on a page (the same one its islands use). */
function trOf(page: PageContext): IslandTranslator {
  return islandTranslator(islandI18n(page, ["scheduler."]));
}

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** Label/value rows that stay narrow on a phone (values wrap, the table scrolls in its own box). */
function Facts({ rows, testId }: { rows: Fact[]; testId: string }) {
  return (
    <div class="overflow-auto">
      <table data-testid={testId}>
        <tbody>
          {rows.map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td style="word-break:break-word">{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Fact = [label: string, value: ComponentChildren];
const fact = (label: string, value: ComponentChildren): Fact => [label, value];

function scheduleFacts(s: ScheduleView, tr: IslandTranslator, page: PageContext): Fact[] {
  const { t } = tr;
  const a = s.action;
  const words = describeCron(s.cron, page.locale);
  const rows: Fact[] = [
    fact(t("scheduler.fact.state"), s.enabled ? t("scheduler.enabled") : <mark>{t("scheduler.disabled")}</mark>),
    fact(
      t("scheduler.fact.cron"),
      <>
        {words && <>{words} ·{" "}</>}
        <code>{s.cron}</code>
      </>,
    ),
    fact(t("scheduler.fact.timezone"), <span class="nowrap">{s.timezone}</span>),
    fact(
      t("scheduler.fact.next"),
      <span data-testid="next-run">{s.nextRunAt ? tr.dateTime(s.nextRunAt, s.timezone) : "—"}</span>,
    ),
    fact(
      t("scheduler.fact.action"),
      <code>{a.type === "internal" ? t("scheduler.job", { job: a.job }) : describe(a)}</code>,
    ),
  ];
  if (a.type === "http") {
    const headers = Object.entries(a.headers);
    if (headers.length) {
      const lines = headers.map(([k, v]) => (
        <div key={k}>
          <code>{`${k}: ${v}`}</code>
        </div>
      ));
      rows.push(fact(t("scheduler.fact.headers"), lines));
    }
    if (a.body !== undefined) rows.push(fact(t("scheduler.fact.body"), <code>{a.body.slice(0, 500)}</code>));
  } else {
    rows.push(fact(t("scheduler.fact.payload"), <KeyValues data={a.payload} />));
  }
  rows.push(
    fact(
      t("scheduler.fact.overlap"),
      s.overlap === "skip" ? t("scheduler.overlap.skip") : t("scheduler.overlap.allow"),
    ),
    fact(
      t("scheduler.fact.catchUp"),
      s.catchUp === "skip" ? t("scheduler.catchUp.skip") : t("scheduler.catchUp.once"),
    ),
    fact(
      t("scheduler.fact.retries"),
      t("scheduler.fact.retries.value", { attempts: s.retry.attempts, ms: s.retry.backoffMs }),
    ),
    fact(t("scheduler.fact.timeout"), t("scheduler.ms", { ms: s.timeoutMs })),
    fact(
      t("scheduler.fact.updated"),
      t("scheduler.fact.updated.value", { at: tr.dateTime(s.updatedAt, s.timezone), revision: s.revision }),
    ),
  );
  return rows;
}

function runFacts(run: Run, tr: IslandTranslator): Fact[] {
  const { t } = tr;
  const tz = run.timezone;
  const at = (iso: string | undefined) => tr.dateTime(iso, tz);
  const rows: Fact[] = [
    fact(t("scheduler.fact.schedule"), <a href={`/admin/scheduler/${run.scheduleId}`}>{run.scheduleName}</a>),
    fact(t("scheduler.fact.trigger"), TRIGGER_LABEL[run.trigger] ? t(TRIGGER_LABEL[run.trigger]) : run.trigger),
    fact(
      t("scheduler.fact.outcome"),
      <strong data-testid="run-outcome" data-outcome={run.outcome}>
        {OUTCOME_LABEL[run.outcome] ? t(OUTCOME_LABEL[run.outcome]) : run.outcome}
      </strong>,
    ),
    fact(t("scheduler.fact.planned"), at(run.plannedAt)),
    fact(t("scheduler.fact.started"), at(run.startedAt)),
    fact(t("scheduler.fact.finished"), at(run.finishedAt)),
    fact(t("scheduler.fact.duration"), run.durationMs !== undefined ? t("scheduler.ms", { ms: run.durationMs }) : "—"),
    fact(t("scheduler.fact.http"), run.httpStatus ?? "—"),
  ];
  if (run.attempts !== undefined) rows.push(fact(t("scheduler.fact.attempts"), run.attempts));
  if (run.jobId) rows.push(fact(t("scheduler.fact.job"), <code>{run.jobId}</code>));
  if (run.missedCount !== undefined) {
    rows.push(
      fact(
        t("scheduler.fact.missed"),
        t("scheduler.fact.missed.value", {
          count: run.missedCount,
          capped: run.missedCountCapped ? "+" : "",
          at: at(run.lastMissedAt),
        }),
      ),
    );
  }
  rows.push(
    fact(
      t("scheduler.fact.error"),
      run.reason ? <span class="error" data-testid="run-error">{run.reason}</span> : "—",
    ),
  );
  return rows;
}

function NotFound({ what, tr }: { what: "run" | "schedule"; tr: IslandTranslator }) {
  const { t } = tr;
  return (
    <>
      <p>{what === "run" ? t("scheduler.notFound.run") : t("scheduler.notFound.schedule")}</p>
      <p>
        <a href="/admin/scheduler">{t("scheduler.back")}</a>
      </p>
    </>
  );
}

export function schedulerDetailPages(hub: Hub) {
  const app = new Hono<AppEnv>();

  app.get("/runs/:runId", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const tr = trOf(page);
    const { t } = tr;
    const runId = c.req.param("runId");
    // An id too long for a KV key cannot name a run.
    const run = pathId.safeParse(runId).success ? await hub.scheduler.getRun(page.org.id, runId) : null;
    if (!run) {
      return render(
        c,
        <Layout title={t("scheduler.notFound.title.run")} active="scheduler" page={page}>
          <NotFound what="run" tr={tr} />
        </Layout>,
        404,
      );
    }
    const body = run.responseBody;
    const saved = body === undefined ? 0 : utf8Bytes(body);
    const size = run.responseTruncated
      ? t("scheduler.response.truncated", { bytes: run.responseBytes ?? "?", saved })
      : t("scheduler.response.size", { bytes: run.responseBytes ?? saved });
    return render(
      c,
      <Layout title={t("scheduler.runOf", { name: run.scheduleName })} active="scheduler" page={page}>
        <p>
          <a href="/admin/scheduler">{t("scheduler.back")}</a> ·{" "}
          <a href={`/admin/scheduler/${run.scheduleId}`}>{t("scheduler.allRuns")}</a>
          {" · "}
          <a href={`/api/v1/runs/${run.id}`}>JSON</a>
        </p>
        <Facts testId="run-facts" rows={runFacts(run, tr)} />
        <h2>
          {t("scheduler.response")}{" "}
          <small data-testid="body-size">{body === undefined ? t("scheduler.response.none") : size}</small>
        </h2>
        {body !== undefined && (
          <pre data-testid="response-body" style="white-space:pre-wrap;word-break:break-all;max-height:60vh">
            {body}
          </pre>
        )}
      </Layout>,
    );
  });

  app.get("/:id", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const tr = trOf(page);
    const { t } = tr;
    const org = page.org.id;
    const id = c.req.param("id");
    const scheduler = hub.scheduler;
    const cursor = c.req.query("cursor") || undefined;
    const validId = pathId.safeParse(id).success; // one too long for a KV key cannot name a schedule
    let history: Awaited<ReturnType<typeof scheduler.listRuns>> = { items: [] };
    try {
      if (validId) history = await scheduler.listRuns(org, id, { limit: PAGE_SIZE, cursor });
    } catch {
      // A cursor that is not KV's (edited by hand) restarts at the newest runs.
      history = await scheduler.listRuns(org, id, { limit: PAGE_SIZE });
    }
    const [schedule, tz] = await Promise.all([
      validId ? scheduler.get(org, id) : null,
      scheduler.defaultTimezone(org),
    ]);
    if (!schedule && history.items.length === 0 && (!cursor || !validId)) {
      return render(
        c,
        <Layout title={t("scheduler.notFound.title.schedule")} active="scheduler" page={page}>
          <NotFound what="schedule" tr={tr} />
        </Layout>,
        404,
      );
    }
    const canWrite = hasRole(page.role, "admin");
    const name = schedule?.name ?? history.items[0]?.scheduleName ?? id;
    return render(
      c,
      <Layout title={name} active="scheduler" page={page}>
        <p>
          <a href="/admin/scheduler">{t("scheduler.back")}</a>
          {schedule && (
            <>
              {" · "}
              <a href={`/api/v1/schedules/${id}`}>JSON</a>
            </>
          )}
        </p>
        {schedule
          ? <Facts testId="schedule-facts" rows={scheduleFacts(schedule, tr, page)} />
          : <p>{t("scheduler.deletedSchedule")}</p>}
        {schedule && canWrite && (
          <details id="edit" data-testid="edit-details">
            <summary>{t("scheduler.edit")}</summary>
            <Island
              name="scheduler_form"
              props={{
                defaultTimezone: tz,
                jobs: schedulableJobs(hub),
                schedule,
                i18n: islandI18n(page, ["scheduler."]),
              }}
            />
          </details>
        )}
        <h2>
          {t("scheduler.runs")} <small>{t("scheduler.runs.newestFirst")}</small>
        </h2>
        <Island
          name="schedule_runs"
          props={{
            scheduleId: id,
            runs: history.items.map(historyRun),
            follow: !cursor,
            limit: PAGE_SIZE,
            i18n: islandI18n(page, ["scheduler."]),
          }}
        />
        <nav>
          <ul>
            {cursor && (
              <li>
                <a href={`/admin/scheduler/${id}`}>{t("scheduler.newest")}</a>
              </li>
            )}
            {history.cursor && (
              <li>
                <a href={`/admin/scheduler/${id}?cursor=${encodeURIComponent(history.cursor)}`} rel="next">
                  {t("common.older")}
                </a>
              </li>
            )}
          </ul>
        </nav>
      </Layout>,
    );
  });
  return app;
}
