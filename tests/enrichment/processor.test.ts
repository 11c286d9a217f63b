import assert from "node:assert/strict";
import { UpstreamApiError, UpstreamHttpError } from "../../lib/errors.ts";
import { TaskConflictError, TaskFailedError } from "../../lib/enrichment/mod.ts";
import type { Task } from "../../lib/enrichment/task_schema.ts";
import { allResults, startHarness, waitFor } from "../helpers/enrichment.ts";

const ORG = "org1";

/** The queue's dead-letter counter (`qstat`), which the queue page and /metrics read. */
async function deadCount(h: { hub: { kv: Deno.Kv } }): Promise<number> {
  return Number((await h.hub.kv.get<Deno.KvU64>(["qstat", "dead"])).value?.value ?? 0n);
}

function countingEnrich(opts: { delayMs?: number; fail?: (t: Task, n: number) => Error | undefined } = {}) {
  const calls = new Map<number, number>();
  const enrich = async (_org: string, t: Task) => {
    const n = (calls.get(t.task_id) ?? 0) + 1;
    calls.set(t.task_id, n);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const err = opts.fail?.(t, n);
    if (err) throw err;
    return t.task_type === "gpt" ? `answer ${t.data}` : { source: t.data, qc: 0 };
  };
  return { enrich, calls, total: () => [...calls.values()].reduce((a, b) => a + b, 0) };
}

Deno.test("processNow() stores one row and a repeat returns the same id without calling the upstream", async () => {
  const up = countingEnrich();
  const h = await startHarness({ options: { enrich: up.enrich } });
  try {
    const task: Task = { task_id: 7, task_type: "phone", data: "+7 916 123-45-67" };
    const a = await h.svc.processor.processNow(ORG, task);
    const b = await h.svc.processor.processNow(ORG, task);
    assert.deepEqual(a, { task_id: 7, id: a.id });
    assert.deepEqual(b, a);
    assert.equal(up.total(), 1);
    const row = await h.svc.sink.get(ORG, a.id);
    assert.equal(row?.task_type, "phone");
    assert.deepEqual(row?.data, { source: "+7 916 123-45-67", qc: 0 });
    assert.equal(await h.svc.sink.get("other-org", a.id), null);
  } finally {
    await h.close();
  }
});

Deno.test("processNow() answers a conflict when the task_id comes back with other content", async () => {
  const h = await startHarness({ options: { enrich: countingEnrich().enrich } });
  try {
    await h.svc.processor.processNow(ORG, { task_id: 1, task_type: "email", data: "a@b.ru" });
    await assert.rejects(
      h.svc.processor.processNow(ORG, { task_id: 1, task_type: "email", data: "c@d.ru" }),
      (e) => e instanceof TaskConflictError && /already used with a different task_type or data/.test(e.message),
    );
    // Another organization has its own task ids.
    const other = await h.svc.processor.processNow("org2", { task_id: 1, task_type: "email", data: "c@d.ru" });
    assert.equal(other.task_id, 1);
  } finally {
    await h.close();
  }
});

Deno.test("copies racing in by REST and by queue agree on one row and one upstream call", async () => {
  const up = countingEnrich({ delayMs: 30 });
  const h = await startHarness({ options: { enrich: up.enrich } });
  try {
    const tasks: Task[] = Array.from({ length: 20 }, (_, i) => ({ task_id: 100 + i, task_type: "gpt", data: `q${i}` }));
    const rest = tasks.flatMap((t) => [h.svc.processor.processNow(ORG, t), h.svc.processor.processNow(ORG, t)]);
    await h.svc.processor.submit(ORG, tasks, "queue");
    await h.svc.processor.submit(ORG, tasks, "amqp");
    const answers = await Promise.all(rest);
    await waitFor(async () => (await allResults(h.svc, ORG)).length >= 20, 10_000, "results");
    await waitFor(() => h.hub.queue.backlog().then((n) => n === 0), 10_000, "drain");
    const results = await allResults(h.svc, ORG);
    assert.equal(results.length, 20);
    for (const t of tasks) {
      assert.equal(up.calls.get(t.task_id), 1, `task ${t.task_id} called the upstream once`);
      const ids = new Set(answers.filter((a) => a.task_id === t.task_id).map((a) => a.id));
      assert.equal(ids.size, 1);
      assert.equal(results.filter((r) => r.task_id === t.task_id)[0].id, [...ids][0]);
    }
    const page = await h.svc.sink.list(ORG, { limit: 100 });
    assert.equal(page.items.length, 20);
  } finally {
    await h.close();
  }
});

Deno.test("the queue path dead-letters invalid and conflicting tasks with the reason and stores the rest", async () => {
  const h = await startHarness({ options: { enrich: countingEnrich().enrich } });
  try {
    const events: string[] = [];
    h.hub.events.subscribe(ORG, (e) => events.push(e.type));
    await h.svc.processor.processNow(ORG, { task_id: 5, task_type: "phone", data: "1" });
    const tasks: unknown[] = Array.from(
      { length: 250 },
      (_, i) => ({ task_id: 1000 + i, task_type: "email", data: `u${i}@x.ru` }),
    );
    tasks.push({ task_id: "x", task_type: "fax", data: "" });
    tasks.push({ task_id: 5, task_type: "phone", data: "2" });
    await h.svc.processor.submit(ORG, tasks, "batch");
    await waitFor(async () => (await allResults(h.svc, ORG)).length >= 251, 10_000, "results");
    await waitFor(() => h.hub.queue.backlog().then((n) => n === 0), 10_000, "drain");
    const dead = await h.hub.queue.dead.list(ORG, { kind: "task.process" });
    const reasons = dead.items.map((d) => d.reason).sort();
    assert.deepEqual(reasons, [
      "Cannot accept task 5: this task_id was already used with a different task_type or data — send new content with a new task_id",
      'invalid task: task_id: must be an integer; task_type: must be one of "phone", "email", "gpt"; data: must not be empty',
    ]);
    assert.ok(events.includes("task.failed"));
    assert.ok(events.includes("task.done"));
    const stats = await h.svc.processor.stats(ORG);
    assert.equal(stats.email.done, 250);
    // Per-task dead letters go through the queue, so its counters see them.
    assert.equal(await deadCount(h), 2);
    assert.equal(h.hub.metrics.value("shlyuz_dead_letters_total", { kind: "task.process" }), 2);
  } finally {
    await h.close();
  }
});

Deno.test("a transient failure is retried in a later round; a 4xx dead-letters at once with its message", async () => {
  let down = true;
  const up = countingEnrich({
    fail: (t, n) => {
      if (t.task_id === 1 && n < 3) {
        return new UpstreamHttpError("DaData failed with HTTP 503", { service: "DaData", status: 503 });
      }
      if (t.task_id === 2) {
        return new UpstreamApiError("DaData rejected the API key (HTTP 403)", { service: "DaData", code: "forbidden" });
      }
      if (t.task_id === 3 && down) {
        return new UpstreamHttpError("DaData did not answer within 100 ms", { service: "DaData" });
      }
    },
  });
  const h = await startHarness({ options: { enrich: up.enrich } });
  try {
    const failed: Array<Record<string, unknown>> = [];
    h.hub.events.subscribe(ORG, (e) => e.type === "task.failed" && failed.push(e.data));
    await h.svc.processor.submit(ORG, [
      { task_id: 1, task_type: "phone", data: "a" },
      { task_id: 2, task_type: "phone", data: "b" },
      { task_id: 3, task_type: "phone", data: "c" },
    ], "queue");
    await waitFor(() => failed.length >= 2, 10_000, "two failures");
    await waitFor(async () => (await allResults(h.svc, ORG)).length === 1, 10_000, "task 1 done");
    assert.equal(up.calls.get(1), 3);
    assert.equal(up.calls.get(2), 1);
    assert.equal(up.calls.get(3), 3, "two retry rounds, then dead");
    assert.equal(await deadCount(h), 2);
    const dead = await h.hub.queue.dead.list(ORG, { kind: "task.process" });
    assert.deepEqual(dead.items.map((d) => d.reason).sort(), [
      "DaData did not answer within 100 ms",
      "DaData rejected the API key (HTTP 403)",
    ]);
    // A re-drive processes the dead task again.
    down = false;
    const d2 = dead.items.find((d) => d.reason.startsWith("DaData did not"))!;
    assert.equal(await h.hub.queue.dead.redrive(ORG, d2.id), true);
    await waitFor(async () => (await allResults(h.svc, ORG)).length === 2, 10_000, "re-driven task done");
  } finally {
    await h.close();
  }
});

Deno.test("a queued batch costs two commits of task state whatever its outcomes: the claim, then one settle", async () => {
  const up = countingEnrich({
    fail: (t) =>
      t.task_id === 2
        ? new UpstreamHttpError("DaData failed with HTTP 503", { service: "DaData", status: 503 })
        : t.task_id === 3
        ? new UpstreamApiError("DaData rejected the API key (HTTP 403)", { service: "DaData", code: "forbidden" })
        : undefined,
  });
  const h = await startHarness({ options: { enrich: up.enrich } });
  try {
    // Count the commits that write a task's state (["task", …]).
    const kv = h.hub.kv;
    const atomic = kv.atomic.bind(kv);
    let taskCommits = 0;
    kv.atomic = () => {
      const op = atomic();
      let writesTask = false;
      const set = op.set.bind(op);
      op.set = (key, value, options) => {
        if (key[0] === "task") writesTask = true;
        return set(key, value, options);
      };
      const commit = op.commit.bind(op);
      op.commit = () => {
        if (writesTask) taskCommits++;
        return commit();
      };
      return op;
    };
    await h.svc.processor.processQueued(
      ORG,
      [1, 2, 3].map((id) => ({ task: { task_id: id, task_type: "phone", data: `${id}` } })),
    );
    kv.atomic = atomic;
    assert.equal(taskCommits, 2);
    const states = await Promise.all(
      [1, 2, 3].map(async (id) => (await kv.get<{ status: string }>(["task", ORG, id])).value?.status),
    );
    assert.deepEqual(states, ["done", "retrying", "failed"]);
  } finally {
    await h.close();
  }
});

Deno.test("processNow() reports an upstream refusal as a failed task", async () => {
  const up = countingEnrich({
    fail: () => new UpstreamApiError("DaData rejected the API key", { service: "DaData", code: "forbidden" }),
  });
  const h = await startHarness({ options: { enrich: up.enrich } });
  try {
    await assert.rejects(
      h.svc.processor.processNow(ORG, { task_id: 9, task_type: "email", data: "x@y.ru" }),
      (e) => e instanceof TaskFailedError && e.message === "DaData rejected the API key" && !e.transient,
    );
    // The task may be sent again (e.g. after fixing the key).
    up.calls.clear();
    await assert.rejects(h.svc.processor.processNow(ORG, { task_id: 9, task_type: "email", data: "x@y.ru" }));
    assert.equal(up.calls.get(9), 1);
  } finally {
    await h.close();
  }
});

Deno.test("KvSink.list() pages newest first and filters by type", async () => {
  const h = await startHarness({ options: { enrich: countingEnrich().enrich } });
  try {
    for (let i = 0; i < 7; i++) {
      await h.svc.processor.processNow(ORG, { task_id: i, task_type: i % 2 ? "gpt" : "email", data: `d${i}` });
    }
    const p1 = await h.svc.sink.list(ORG, { limit: 3 });
    assert.deepEqual(p1.items.map((r) => r.task_id), [6, 5, 4]);
    const p2 = await h.svc.sink.list(ORG, { limit: 3, cursor: p1.cursor });
    assert.deepEqual(p2.items.map((r) => r.task_id), [3, 2, 1]);
    const p3 = await h.svc.sink.list(ORG, { limit: 3, cursor: p2.cursor });
    assert.deepEqual(p3.items.map((r) => r.task_id), [0]);
    assert.equal(p3.cursor, undefined);
    const gpt = await h.svc.sink.list(ORG, { type: "gpt", limit: 2 });
    assert.deepEqual(gpt.items.map((r) => r.task_id), [5, 3]);
    const gpt2 = await h.svc.sink.list(ORG, { type: "gpt", limit: 2, cursor: gpt.cursor });
    assert.deepEqual(gpt2.items.map((r) => [r.task_id, r.data]), [[1, "answer d1"]]);
  } finally {
    await h.close();
  }
});

Deno.test("synchronous tasks arriving together share their commits: one row each, fewer result messages", async () => {
  const up = countingEnrich({ delayMs: 5 });
  const h = await startHarness({ options: { enrich: up.enrich } });
  try {
    const done: Array<{ count: number }> = [];
    h.hub.events.subscribe(ORG, (e) => e.type === "task.done" && done.push(e.data as { count: number }));
    const answers = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => h.svc.processor.processNow(ORG, { task_id: i, task_type: "phone", data: `${i}` }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.task_id), Array.from({ length: 50 }, (_, i) => i));
    assert.equal(new Set(answers.map((a) => a.id)).size, 50);
    for (const a of answers) assert.equal((await h.svc.sink.get(ORG, a.id))?.task_id, a.task_id);
    assert.equal(up.total(), 50);
    await waitFor(() => done.reduce((n, d) => n + d.count, 0) === 50, 10_000, "50 results published");
    assert.ok(done.length < 50, `results grouped into ${done.length} messages`);
    assert.equal((await allResults(h.svc, ORG)).length, 50);
  } finally {
    await h.close();
  }
});

Deno.test("copies of one task sent at once get one upstream call and the same id; other content gets a conflict", async () => {
  const up = countingEnrich({ delayMs: 20 });
  const h = await startHarness({ options: { enrich: up.enrich } });
  try {
    const task: Task = { task_id: 77, task_type: "email", data: "a@b.ru" };
    const copies = await Promise.all(Array.from({ length: 10 }, () => h.svc.processor.processNow(ORG, task)));
    assert.equal(up.calls.get(77), 1);
    assert.equal(new Set(copies.map((c) => c.id)).size, 1);
    const mixed = await Promise.allSettled([
      h.svc.processor.processNow(ORG, { task_id: 78, task_type: "email", data: "x@y.ru" }),
      h.svc.processor.processNow(ORG, { task_id: 78, task_type: "email", data: "other@y.ru" }),
    ]);
    assert.equal(mixed[0].status, "fulfilled");
    assert.ok(mixed[1].status === "rejected" && mixed[1].reason instanceof TaskConflictError);
    assert.equal(up.calls.get(78), 1);
    assert.equal((await allResults(h.svc, ORG)).length, 2);
  } finally {
    await h.close();
  }
});
