/** HTML tests of the Scheduler's server-rendered pages: a run's detail page and a schedule's history. */
import assert from "node:assert/strict";
import { eventually, startTestHub, type TestHub } from "../helpers/hub.ts";
import { addMember, createOrg } from "../../lib/accounts/store.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { recordingServer } from "../helpers/scheduler.ts";

const OWNER = { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" };

/** Logs in through the form and returns the session cookie. */
async function login(t: TestHub, email: string, password: string): Promise<string> {
  const res = await fetch(`${t.url}/admin/login`, {
    method: "POST",
    body: new URLSearchParams({ email, password, next: "/admin/scheduler" }),
    redirect: "manual",
  });
  await res.body?.cancel();
  assert.equal(res.status, 303);
  return res.headers.get("set-cookie")!.split(";")[0];
}

async function page(t: TestHub, path: string, cookie: string): Promise<{ status: number; html: string }> {
  const res = await fetch(`${t.url}${path}`, { headers: { cookie } });
  return { status: res.status, html: await res.text() };
}

async function createAndRun(t: TestHub, url: string): Promise<{ scheduleId: string; runId: string }> {
  const allow = await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
  await allow.body?.cancel();
  const created = await t.api("/api/v1/schedules", {
    method: "POST",
    json: { name: "Export", cron: "0 3 * * *", timezone: "Asia/Vladivostok", action: { type: "http", url } },
  });
  const { id: scheduleId } = await created.json();
  const queued = await t.api(`/api/v1/schedules/${scheduleId}/run`, { method: "POST" });
  const { id: runId } = await queued.json();
  await eventually(async () => (await (await t.api(`/api/v1/runs/${runId}`)).json()).outcome === "ok");
  return { scheduleId, runId };
}

Deno.test("the run page shows times with their zone, status and the saved body escaped, with its size", async () => {
  const body = `<script>alert("x")</script> & «ok»`;
  const server = recordingServer(() => new Response(body, { status: 201 }));
  const t = await startTestHub({ env: OWNER });
  try {
    const { scheduleId, runId } = await createAndRun(t, `${server.url}/export`);
    const cookie = await login(t, "owner@example.com", "correct horse battery");
    const { status, html } = await page(t, `/admin/scheduler/runs/${runId}`, cookie);
    assert.equal(status, 200);
    assert.ok(!html.includes("<script>alert"), "the body is not injected as markup");
    assert.match(
      html,
      /<pre[^>]*data-testid="response-body"[^>]*>&lt;script>alert\(&quot;x&quot;\)&lt;\/script> &amp; «ok»<\/pre>/,
    );
    const bytes = new Intl.NumberFormat("ru-RU").format(new TextEncoder().encode(body).length);
    assert.ok(html.includes(`data-testid="body-size">${bytes} байт<`));
    assert.match(
      html,
      /\d\d\.\d\d\.\d{4}, \d\d:\d\d \(Asia\/Vladivostok\)/,
      "a zone other than the organization's is named",
    );
    assert.match(html, /<strong data-testid="run-outcome" data-outcome="ok">успешно<\/strong>/);
    assert.match(html, /HTTP-статус<\/th><td[^>]*>201</);
    assert.match(html, /Причина<\/th><td[^>]*>вручную</);
    assert.match(html, /Длительность<\/th><td[^>]*>[\d\u00a0]+ мс</);
    assert.ok(html.includes(`href="/admin/scheduler/${scheduleId}"`));

    // The schedule's page lists the run and links to it.
    const history = await page(t, `/admin/scheduler/${scheduleId}`, cookie);
    assert.equal(history.status, 200);
    assert.ok(history.html.includes(`href="/admin/scheduler/runs/${runId}"`));
    assert.match(history.html, /data-testid="edit-details"/, "an owner can edit");
  } finally {
    await t.close();
    await server.close();
  }
});

Deno.test("the run page answers 404 for another organization's run and for an unknown one", async () => {
  const t = await startTestHub({ env: OWNER });
  try {
    const other = await createOrg(t.hub.kv, "Other", { actor: SYSTEM_ACTOR });
    const scheduler = t.hub.scheduler;
    const created = await scheduler.create(
      other.id,
      scheduler.parse({ name: "Theirs", cron: "0 3 * * *", action: { type: "http", url: "https://example.com/x" } }),
    );
    const run = await scheduler.runNow(other.id, created.id);
    const cookie = await login(t, "owner@example.com", "correct horse battery");
    for (const path of [`/admin/scheduler/runs/${run!.id}`, "/admin/scheduler/runs/nope"]) {
      const res = await page(t, path, cookie);
      assert.equal(res.status, 404, path);
      assert.match(res.html, /В этой организации нет такого запуска/);
      assert.ok(!res.html.includes("Theirs"));
    }
    const schedulePage = await page(t, `/admin/scheduler/${created.id}`, cookie);
    assert.equal(schedulePage.status, 404);
    assert.ok(!schedulePage.html.includes("Theirs"));
  } finally {
    await t.close();
  }
});

const LONG_REASON = `HTTP 502 from the export endpoint: ${"upstream gateway timed out; ".repeat(10)}end`;

Deno.test("a schedule's history pages with a cursor, newest first", async () => {
  const t = await startTestHub({ env: OWNER });
  try {
    const scheduler = t.hub.scheduler;
    const s = await scheduler.create(
      t.org,
      scheduler.parse({ name: "Often", cron: "* * * * *", action: { type: "http", url: "https://example.com/x" } }),
    );
    // 55 recorded runs (more than one page of 50); ids are ULIDs, so later ids are newer.
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) {
      const id = `01J${String(i).padStart(23, "0")}`;
      ids.push(id);
      await scheduler.runs.save({
        id,
        org: t.org,
        scheduleId: s.id,
        scheduleName: s.name,
        revision: 1,
        timezone: "UTC",
        trigger: "schedule",
        plannedAt: new Date(Date.UTC(2025, 5, 1, 0, i)).toISOString(),
        ...(i === 54 ? { outcome: "failed", reason: LONG_REASON } : { outcome: "ok" }),
      });
    }
    const cookie = await login(t, "owner@example.com", "correct horse battery");
    const runIds = (html: string) => [...html.matchAll(/data-run-id="([^"]+)"/g)].map((m) => m[1]);
    const first = await page(t, `/admin/scheduler/${s.id}`, cookie);
    assert.deepEqual(runIds(first.html), ids.slice(5).reverse());
    // The outcome cell shows the start of a long error and carries all of it as its tooltip.
    assert.ok(first.html.includes(`title="${LONG_REASON}"`), "the whole error as the outcome cell's title");
    assert.ok(first.html.includes(`<small>${LONG_REASON.slice(0, 160)}</small>`));
    const next = /href="([^"]+)" rel="next"/.exec(first.html)![1].replaceAll("&amp;", "&");
    const second = await page(t, next, cookie);
    assert.deepEqual(runIds(second.html), ids.slice(0, 5).reverse());
    assert.ok(!second.html.includes('rel="next"'));
    assert.match(second.html, /Самые новые/);
  } finally {
    await t.close();
  }
});

Deno.test("a viewer sees the Scheduler pages read-only", async () => {
  const t = await startTestHub({ env: OWNER });
  try {
    await addMember(t.hub.kv, t.org, { email: "viewer@example.com", password: "viewer password 1", role: "viewer" }, {
      actor: SYSTEM_ACTOR,
    });
    const scheduler = t.hub.scheduler;
    const s = await scheduler.create(
      t.org,
      scheduler.parse({ name: "Daily", cron: "0 9 * * *", action: { type: "http", url: "https://example.com/x" } }),
    );
    const cookie = await login(t, "viewer@example.com", "viewer password 1");
    const list = await page(t, "/admin/scheduler", cookie);
    assert.equal(list.status, 200);
    assert.ok(list.html.includes(`href="/admin/scheduler/${s.id}"`));
    // What is rendered, not the island's message catalogue in its props.
    const shown = list.html.replace(/data-props="[^"]*"/g, "");
    assert.ok(
      !shown.includes("Запустить сейчас") && !shown.includes(">Удалить<") && !shown.includes("Новое расписание"),
    );
    const detail = await page(t, `/admin/scheduler/${s.id}`, cookie);
    assert.equal(detail.status, 200);
    assert.match(
      detail.html,
      /data-testid="next-run">\d\d\.\d\d\.\d{4}, 09:00</,
      "the organization's zone needs no label",
    );
    assert.ok(!detail.html.includes("edit-details") && !detail.html.includes("scheduler_form"));
  } finally {
    await t.close();
  }
});
