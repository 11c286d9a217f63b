import assert from "node:assert/strict";
import { eventually, startTestHub, type TestHub } from "../helpers/hub.ts";
import { finishedRun, withSeededHub } from "./_seed.ts";
import type { ExecutionPage, ExecutionRow, RetryReport } from "../../lib/executions/types.ts";

async function list(t: TestHub, qs = "", token?: string): Promise<ExecutionPage> {
  const res = await t.api(`/api/v1/executions${qs ? `?${qs}` : ""}`, token ? { token } : {});
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

const refs = (rows: ExecutionRow[]) => rows.map((r) => r.ref);

Deno.test("GET /executions lists runs, enrichment results, 1C requests and dead letters in one list, newest first", async () => {
  await withSeededHub(async (t, s) => {
    const page = await list(t);
    for (const ref of [`run:${s.runId}`, `dead:${s.deadId}`, `onec:${s.onecLogId}`, `result:${s.resultCursor}`]) {
      assert.ok(refs(page.items).includes(ref), `${ref} is listed`);
    }
    const ids = page.items.map((r) => r.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), "newest first");
    const run = page.items.find((r) => r.ref === `run:${s.runId}`)!;
    assert.equal(run.area, "scheduler");
    assert.equal(run.outcome, "failed");
    assert.equal(run.title, "Выгрузка остатков");
    assert.equal(run.retry, "run_again");
    assert.ok(run.fields.some((f) => f.key === "httpStatus" && f.value === "500"), "details are key/value lines");
    const dead = page.items.find((r) => r.ref === `dead:${s.deadId}`)!;
    assert.equal(dead.area, "enrichment");
    assert.equal(dead.dead, true);
    assert.equal(dead.title, "fax #7701");
    assert.ok(dead.fields.some((f) => f.key === "payload.tasks.0.task.task_id" && f.value === "7701"));
  });
});

Deno.test("the journal filters by area, outcome and time range, and finds rows by 1C id, task_id and schedule name", async () => {
  await withSeededHub(async (t, s) => {
    assert.deepEqual(refs((await list(t, "area=scheduler")).items), [`run:${s.runId}`]);
    assert.deepEqual(refs((await list(t, "area=onec")).items), [`onec:${s.onecLogId}`]);
    assert.deepEqual(refs((await list(t, "area=dead")).items), [`dead:${s.deadId}`]);
    const enrichment = refs((await list(t, "area=enrichment")).items).sort();
    assert.deepEqual(enrichment, [`dead:${s.deadId}`, `result:${s.resultCursor}`].sort());
    assert.deepEqual(refs((await list(t, "outcome=ok")).items), [`result:${s.resultCursor}`]);
    assert.equal((await list(t, "outcome=failed")).items.length, 3);
    assert.deepEqual(refs((await list(t, `q=${encodeURIComponent("зк-000042")}`)).items), [`onec:${s.onecLogId}`]);
    assert.deepEqual(refs((await list(t, "q=7701")).items), [`dead:${s.deadId}`]);
    assert.deepEqual(refs((await list(t, `q=${encodeURIComponent("остатков")}`)).items), [`run:${s.runId}`]);
    assert.deepEqual(refs((await list(t, `q=${s.scheduleId}`)).items), [`run:${s.runId}`]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    assert.deepEqual((await list(t, `from=${future}`)).items, []);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    assert.deepEqual((await list(t, `to=${past}`)).items, []);
    assert.equal((await list(t, `from=${past}&to=${future}`)).items.length, 4);
    // Beyond the 48-bit time of a ULID (year 10889) and before 1970: still bounds, not a 500.
    const farFuture = encodeURIComponent("+020000-01-01T00:00:00Z");
    assert.equal((await list(t, `to=${farFuture}`)).items.length, 4);
    assert.deepEqual((await list(t, `from=${farFuture}`)).items, []);
    assert.equal((await list(t, `from=${encodeURIComponent("-000001-01-01T00:00:00Z")}`)).items.length, 4);
  });
});

Deno.test("the cursor walks the whole journal one row at a time without repeats or gaps", async () => {
  await withSeededHub(async (t) => {
    const all = refs((await list(t)).items);
    const walked: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await list(t, `limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      walked.push(...refs(page.items));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assert.deepEqual(walked, all);
  });
});

Deno.test("viewers read the journal without dead letters' payloads and may not retry", async () => {
  await withSeededHub(async (t, s) => {
    const viewer = await t.tokenFor("viewer");
    const dead = (await list(t, "area=dead", viewer)).items[0];
    assert.equal(dead.ref, `dead:${s.deadId}`);
    assert.ok(!dead.fields.some((f) => f.key.startsWith("payload.")), "no payload for a viewer");
    const res = await t.api("/api/v1/executions/retry", { method: "POST", token: viewer, json: { refs: [dead.ref] } });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  });
});

Deno.test("bad journal requests answer 422 naming the field", async () => {
  await withSeededHub(async (t) => {
    const bad = async (path: string, init: Parameters<TestHub["api"]>[1], field: string) => {
      const res = await t.api(path, init);
      const body = await res.json();
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.ok(body.error.details.some((d: { field: string }) => d.field === field), JSON.stringify(body));
    };
    await bad("/api/v1/executions?area=mail", {}, "area");
    await bad("/api/v1/executions?from=yesterday", {}, "from");
    await bad("/api/v1/executions?cursor=../x", {}, "cursor");
    await bad("/api/v1/executions/retry", { method: "POST", json: {} }, "refs");
    await bad("/api/v1/executions/retry", { method: "POST", json: { refs: ["rm -rf"] } }, "refs.0");
  });
});

Deno.test("retry re-drives a dead letter and runs a failed run's schedule again, once per schedule", async () => {
  await withSeededHub(async (t, s) => {
    const res = await t.api("/api/v1/executions/retry", {
      method: "POST",
      json: { refs: [`dead:${s.deadId}`, `run:${s.runId}`, `onec:${s.onecLogId}`] },
    });
    const report: RetryReport = await res.json();
    assert.equal(res.status, 200);
    assert.deepEqual(report.results.map((r) => r.result), ["redriven", "run_queued", "not_retryable"]);
    assert.equal(report.retried, 2);
    assert.equal(await t.hub.queue.dead.get(t.org, s.deadId), null, "the dead letter left the list");
    // The same ref again: it is gone, and saying so is the answer.
    const again: RetryReport = await (await t.api("/api/v1/executions/retry", {
      method: "POST",
      json: { refs: [`dead:${s.deadId}`] },
    })).json();
    assert.deepEqual(again.results.map((r) => r.result), ["not_found"]);
    // The schedule ran again: a second run exists and it finished (failed again: the target is still down).
    const runs = await eventually(async () => {
      const items = (await list(t, "area=scheduler")).items.filter((r) => r.outcome !== "other");
      return items.length >= 2 ? items : null;
    }, { timeoutMs: 10_000 });
    assert.equal(runs?.length, 2);
    const audit = await (await t.api("/api/v1/audit?limit=50")).json();
    const actions = (audit.items ?? []).map((a: { action: string }) => a.action);
    assert.ok(actions.includes("dead_letter.redriven") && actions.includes("schedule.run_now"), actions.join(","));
  });
});

Deno.test("bulk retry by filter retries every failed row it finds, each schedule once", async () => {
  await withSeededHub(async (t, s) => {
    const second = await (await t.api(`/api/v1/schedules/${s.scheduleId}/run`, { method: "POST" })).json();
    await finishedRun(t, second.id);
    const res = await t.api("/api/v1/executions/retry", { method: "POST", json: { filter: { area: "scheduler" } } });
    const report: RetryReport = await res.json();
    assert.equal(res.status, 200, JSON.stringify(report));
    assert.deepEqual(report.results.map((r) => r.result).sort(), ["already_queued", "run_queued"]);
    const dead: RetryReport = await (await t.api("/api/v1/executions/retry", {
      method: "POST",
      json: { filter: { area: "dead" } },
    })).json();
    assert.deepEqual(dead.results, [{ ref: `dead:${s.deadId}`, ok: true, result: "redriven" }]);
  });
});

Deno.test("a 1C request refused with 422 reaches the intake log and the journal, saying why", async () => {
  const t = await startTestHub();
  try {
    const res = await t.api("/", {
      method: "POST",
      json: { tasks: [{ id: "ЗК-000099", calculation: "Сварочный участок", title: "" }] },
    });
    const body = await res.json();
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.ok(body.error.details.some((d: { field: string }) => d.field === "tasks.0.title"), JSON.stringify(body));
    const [row] = (await list(t, `q=${encodeURIComponent("ЗК-000099")}`)).items;
    assert.equal(row?.area, "onec");
    assert.equal(row.status, "rejected");
    assert.equal(row.outcome, "failed");
    assert.equal(row.reason, body.error.message);
    assert.equal(row.retry, undefined, "1C sends it again; the hub does not");
    const log = await (await t.api("/api/v1/onec/log")).json();
    assert.equal(log.items[0].outcome, "rejected");
    assert.equal(log.items[0].tasks[0].onecId, "ЗК-000099");
  } finally {
    await t.close();
  }
});
