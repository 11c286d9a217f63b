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
import { formatInZone, type Run, type RunSummary } from "../../lib/scheduler/mod.ts";
import type { ScheduleView } from "../../lib/scheduler/service.ts";
import { describe } from "../../islands/scheduler_live.tsx";
import { RunCells } from "../../islands/_run_cells.tsx";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island } from "./island.tsx";
import { pathId } from "../openapi.ts";

const PAGE_SIZE = 50;

/** Job kinds an organization may schedule, each with its payload's JSON Schema for the form. */
export function schedulableJobs(hub: Hub): Array<{ kind: string; payloadSchema: Record<string, unknown> }> {
  return hub.queue.schedulableKinds().map((kind) => ({
    kind,
    payloadSchema: hub.queue.schedulablePayloadSchema(kind) ?? {},
  }));
}

/** An ISO time as wall time in `tz`, with the zone: "2025-06-03 09:00:00 Europe/Moscow (GMT+3)". */
function at(iso: string | undefined, tz: string): string {
  return iso ? formatInZone(Date.parse(iso), tz) : "—";
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

function RunsTable({ runs }: { runs: RunSummary[] }) {
  return (
    <div class="overflow-auto">
      <table class="striped" data-testid="history-table">
        <thead>
          <tr>
            <th>Planned</th>
            <th>Trigger</th>
            <th>Outcome</th>
            <th>HTTP</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run-id={r.id}>
              <td>
                <small>{at(r.plannedAt, r.timezone)}</small>
              </td>
              <td>{r.trigger}</td>
              <RunCells run={r} />
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && <p>No runs on this page.</p>}
    </div>
  );
}

type Fact = [label: string, value: ComponentChildren];
const fact = (label: string, value: ComponentChildren): Fact => [label, value];

function scheduleFacts(s: ScheduleView): Fact[] {
  const a = s.action;
  const rows: Fact[] = [
    fact("State", s.enabled ? "enabled" : <mark>disabled</mark>),
    fact("Cron", <code>{s.cron}</code>),
    fact("Time zone", s.timezone),
    fact("Next run", <span data-testid="next-run">{s.nextRunLocal ?? "—"}</span>),
    fact("Action", <code>{describe(a)}</code>),
  ];
  if (a.type === "http") {
    const headers = Object.entries(a.headers);
    if (headers.length) {
      const lines = headers.map(([k, v]) => (
        <div key={k}>
          <code>{`${k}: ${v}`}</code>
        </div>
      ));
      rows.push(fact("Headers", lines));
    }
    if (a.body !== undefined) rows.push(fact("Body", <code>{a.body.slice(0, 500)}</code>));
  } else {
    rows.push(fact("Payload", <code>{JSON.stringify(a.payload)}</code>));
  }
  rows.push(
    fact("Overlap", s.overlap === "skip" ? "skip while running" : "allow"),
    fact("After downtime", s.catchUp === "skip" ? "skip missed" : "run once to catch up"),
    fact("Retries", `${s.retry.attempts} (first wait ${s.retry.backoffMs} ms, doubled each time)`),
    fact("Timeout", `${s.timeoutMs} ms`),
    fact("Updated", `${at(s.updatedAt, s.timezone)} (revision ${s.revision})`),
  );
  return rows;
}

function runFacts(run: Run): Fact[] {
  const tz = run.timezone;
  const rows: Fact[] = [
    fact("Schedule", <a href={`/admin/scheduler/${run.scheduleId}`}>{run.scheduleName}</a>),
    fact("Trigger", run.trigger),
    fact("Outcome", <strong data-testid="run-outcome">{run.outcome}</strong>),
    fact("Planned", at(run.plannedAt, tz)),
    fact("Started", at(run.startedAt, tz)),
    fact("Finished", at(run.finishedAt, tz)),
    fact("Duration", run.durationMs !== undefined ? `${run.durationMs} ms` : "—"),
    fact("HTTP status", run.httpStatus ?? "—"),
  ];
  if (run.attempts !== undefined) rows.push(fact("Attempts", run.attempts));
  if (run.jobId) rows.push(fact("Job", <code>{run.jobId}</code>));
  if (run.missedCount !== undefined) {
    const count = `${run.missedCount}${run.missedCountCapped ? "+" : ""}`;
    rows.push(fact("Missed", `${count} occurrence(s), the last at ${at(run.lastMissedAt, tz)}`));
  }
  rows.push(fact("Error", run.reason ? <span class="error" data-testid="run-error">{run.reason}</span> : "—"));
  return rows;
}

function NotFound({ what }: { what: string }) {
  return (
    <>
      <p>
        There is no such {what} in this organization (run history expires after its retention period).
      </p>
      <p>
        <a href="/admin/scheduler">← Scheduler</a>
      </p>
    </>
  );
}

export function schedulerDetailPages(hub: Hub) {
  const app = new Hono<AppEnv>();

  app.get("/runs/:runId", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const runId = c.req.param("runId");
    // An id too long for a KV key cannot name a run.
    const run = pathId.safeParse(runId).success ? await hub.scheduler.getRun(page.org.id, runId) : null;
    if (!run) {
      return render(
        c,
        <Layout title="Run not found" active="scheduler" page={page}>
          <NotFound what="run" />
        </Layout>,
        404,
      );
    }
    const body = run.responseBody;
    const saved = body === undefined ? 0 : utf8Bytes(body);
    const size = run.responseTruncated
      ? `${run.responseBytes ?? "?"} bytes; the first ${saved} bytes are saved`
      : `${run.responseBytes ?? saved} bytes`;
    return render(
      c,
      <Layout title={`Run of ${run.scheduleName}`} active="scheduler" page={page}>
        <p>
          <a href="/admin/scheduler">← Scheduler</a> · <a href={`/admin/scheduler/${run.scheduleId}`}>all runs</a>
          {" · "}
          <a href={`/api/v1/runs/${run.id}`}>JSON</a>
        </p>
        <Facts testId="run-facts" rows={runFacts(run)} />
        <h2>
          Response <small data-testid="body-size">{body === undefined ? "none saved" : size}</small>
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
        <Layout title="Schedule not found" active="scheduler" page={page}>
          <NotFound what="schedule" />
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
          <a href="/admin/scheduler">← Scheduler</a>
          {schedule && (
            <>
              {" · "}
              <a href={`/api/v1/schedules/${id}`}>JSON</a>
            </>
          )}
        </p>
        {schedule
          ? <Facts testId="schedule-facts" rows={scheduleFacts(schedule)} />
          : <p>This schedule was deleted; its run history stays until it expires.</p>}
        {schedule && canWrite && (
          <details id="edit" data-testid="edit-details">
            <summary>Edit</summary>
            <Island
              name="scheduler_form"
              props={{ defaultTimezone: tz, jobs: schedulableJobs(hub), schedule }}
            />
          </details>
        )}
        <h2>
          Runs <small>newest first</small>
        </h2>
        <RunsTable runs={history.items} />
        <nav>
          <ul>
            {cursor && (
              <li>
                <a href={`/admin/scheduler/${id}`}>Newest</a>
              </li>
            )}
            {history.cursor && (
              <li>
                <a href={`/admin/scheduler/${id}?cursor=${encodeURIComponent(history.cursor)}`} rel="next">
                  Older →
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
