/** «Журнал»: the executions journal page; its filters live in the URL (a plain GET form). */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island, registerIsland } from "./island.tsx";
import { requirePage } from "../middleware/auth.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { islandI18n, pageT } from "./i18n.ts";
import type { MessageKey } from "../../lib/i18n/mod.ts";
import {
  EXEC_AREAS,
  EXEC_OUTCOMES,
  type ExecArea,
  type ExecOutcome,
  type ExecutionFilter,
  listExecutions,
} from "../../lib/executions/mod.ts";
import ExecutionsJournal from "../../islands/executions_journal.tsx";

registerIsland("executions_journal", ExecutionsJournal);

// Literal keys, so the catalogue test sees each one used.
const AREA_LABEL: Record<ExecArea, MessageKey> = {
  scheduler: "executions.area.scheduler",
  enrichment: "executions.area.enrichment",
  onec: "executions.area.onec",
  dead: "executions.area.dead",
};
const OUTCOME_LABEL: Record<ExecOutcome, MessageKey> = {
  ok: "executions.outcome.ok",
  failed: "executions.outcome.failed",
  other: "executions.outcome.other",
};

/** Milliseconds the zone's wall clock is ahead of UTC at `utcMs`. */
function zoneOffset(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(utcMs));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(n("year"), n("month") - 1, n("day"), n("hour"), n("minute"), n("second")) -
    Math.floor(utcMs / 1000) * 1000;
}

/** A `datetime-local` value (`2026-12-02T10:00`) read as wall time in `timeZone`, as ISO UTC; null if not one. */
export function wallTimeToIso(value: string, timeZone: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const guess = Date.parse(`${value}Z`);
  if (Number.isNaN(guess)) return null;
  let utc = guess - zoneOffset(guess, timeZone);
  utc = guess - zoneOffset(utc, timeZone); // the offset at the instant itself (DST edges)
  return new Date(utc).toISOString();
}

export function executionPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const { t } = pageT(page);
    const timezone = page.timeZone;
    const q = (name: string) => (c.req.query(name) ?? "").trim();
    const area = (EXEC_AREAS as readonly string[]).includes(q("area")) ? q("area") as ExecArea : undefined;
    const outcome = (EXEC_OUTCOMES as readonly string[]).includes(q("outcome"))
      ? q("outcome") as ExecOutcome
      : undefined;
    const filter: ExecutionFilter = {
      ...(area ? { area } : {}),
      ...(outcome ? { outcome } : {}),
      ...(q("q") ? { q: q("q").slice(0, 200) } : {}),
    };
    const from = wallTimeToIso(q("from"), timezone);
    const to = wallTimeToIso(q("to"), timezone);
    if (from) filter.from = from;
    if (to) filter.to = to;
    const initial = await listExecutions(hub, page.org.id, filter, {
      limit: 50,
      payloads: hasRole(page.role, "operator"),
    });
    return render(
      c,
      <Layout title={t("executions.title")} active="executions" page={page}>
        <link rel="stylesheet" href="/static/dashboard.css" />
        <p>{t("executions.lead")}</p>
        <form method="get" action="/admin/executions" class="journal-filter" role="search" data-testid="journal-filter">
          <label>
            {t("executions.filter.area")}
            <select name="area">
              <option value="">{t("executions.area.all")}</option>
              {EXEC_AREAS.map((a) => <option key={a} value={a} selected={a === area}>{t(AREA_LABEL[a])}</option>)}
            </select>
          </label>
          <label>
            {t("executions.filter.outcome")}
            <select name="outcome">
              <option value="">{t("executions.outcome.all")}</option>
              {EXEC_OUTCOMES.map((o) => (
                <option key={o} value={o} selected={o === outcome}>{t(OUTCOME_LABEL[o])}</option>
              ))}
            </select>
          </label>
          <label>
            {t("executions.filter.from")} ({timezone})
            <input type="datetime-local" name="from" value={from ? q("from") : ""} />
          </label>
          <label>
            {t("executions.filter.to")} ({timezone})
            <input type="datetime-local" name="to" value={to ? q("to") : ""} />
          </label>
          <label class="journal-q">
            {t("executions.filter.q")}
            <input type="search" name="q" value={filter.q ?? ""} placeholder={t("executions.filter.q.placeholder")} />
          </label>
          <div class="journal-buttons">
            <button type="submit">{t("executions.filter.apply")}</button>
            <a href="/admin/executions" role="button" class="secondary outline">{t("executions.filter.reset")}</a>
          </div>
        </form>
        <Island
          name="executions_journal"
          props={{
            initial,
            filter,
            i18n: islandI18n(page, ["executions."]),
            canRetry: hasRole(page.role, "operator"),
          }}
        />
      </Layout>,
    );
  });

  return app;
}
