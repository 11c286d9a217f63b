/**
 * Every task ends in exactly one state: failed is terminal for the copies of
 * its submission; one value a sink cannot store fails alone; a sink outage
 * keeps the upstream's answers and retries only the store.
 */
import assert from "node:assert/strict";
import { UpstreamApiError } from "../../lib/errors.ts";
import { TaskFailedError } from "../../lib/enrichment/mod.ts";
import type { Task } from "../../lib/enrichment/task_schema.ts";
import type { TaskState } from "../../lib/enrichment/task_state.ts";
import { POSTGRES_URL } from "../helpers/services.ts";
import { postgresOrSkip, startHarness, waitFor, withSchema } from "../helpers/enrichment.ts";

const ORG = "org_outcomes";

const pgAvailable = await postgresOrSkip();

function counting(answer: (t: Task) => unknown = (t) => ({ source: t.data, qc: 0 })) {
  const calls = new Map<number, number>();
  return {
    calls,
    enrich: (_org: string, t: Task) => {
      calls.set(t.task_id, (calls.get(t.task_id) ?? 0) + 1);
      return Promise.resolve(answer(t));
    },
  };
}

Deno.test("a late copy of a submission that failed neither runs nor dead-letters again; a new submission may", async () => {
  let calls = 0;
  const h = await startHarness({
    options: {
      enrich: () => {
        calls++;
        return Promise.reject(
          new UpstreamApiError("DaData rejected the API key (HTTP 403)", { service: "DaData", code: "forbidden" }),
        );
      },
    },
  });
  try {
    const task = { task_id: 1, task_type: "email", data: "a@mail.ru" };
    const message = (sub: string, attempt = 0) => ({
      v: 1,
      kind: "task.process",
      org: ORG,
      id: `m-${sub}-${attempt}`,
      payload: { tasks: [{ task, attempt, sub }], source: "queue" },
    });
    await h.hub.queue.handle(message("sub-1"));
    // The copies a crash leaves: the inbox's re-enqueue and the KV queue's late redelivery of the original.
    await h.hub.queue.handle(message("sub-1"));
    await h.hub.queue.handle(message("sub-1", 1));
    assert.equal(calls, 1);
    assert.equal((await h.hub.queue.dead.list(ORG, { kind: "task.process" })).items.length, 1);
    assert.deepEqual(await h.svc.processor.stats(ORG), { email: { done: 0, failed: 1 } });
    // Another submission of the same task (after fixing the key) runs again.
    await h.hub.queue.handle(message("sub-2"));
    assert.equal(calls, 2);
  } finally {
    await h.close();
  }
});

Deno.test({
  name:
    "a value PostgreSQL refuses fails its own task alone: the other 99 of the batch are stored, each upstream call once",
  ignore: !pgAvailable,
  fn: () =>
    withSchema("enrich_o", async (schema, sql) => {
      const up = counting((t) => ({ source: t.task_id === 42 ? "echo \ud800" : t.data, qc: 0 }));
      const h = await startHarness({
        env: { DATABASE_URL: POSTGRES_URL, ENRICH_PG_SCHEMA: schema },
        options: { enrich: up.enrich },
      });
      try {
        const tasks = Array.from({ length: 100 }, (_, i) => ({ task_id: i, task_type: "phone", data: `+7 ${i}` }));
        await h.svc.processor.submit(ORG, tasks, "queue");
        await waitFor(
          async () => {
            const s = (await h.svc.processor.stats(ORG)).phone;
            return (s?.done ?? 0) + (s?.failed ?? 0) === 100;
          },
          20_000,
          "100 tasks settled",
        );
        assert.deepEqual(await h.svc.processor.stats(ORG), { phone: { done: 99, failed: 1 } });
        const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${schema}.integration_service`);
        assert.equal(n, 99);
        const dead = await h.hub.queue.dead.list(ORG, { kind: "task.process" });
        assert.equal(dead.items.length, 1);
        assert.match(dead.items[0].reason, /^PostgreSQL refused the row \(SQLSTATE 22P0\d\)/);
        assert.equal(
          (dead.items[0].envelope as { payload: { tasks: Array<{ task: Task }> } }).payload.tasks[0].task.task_id,
          42,
        );
        assert.equal(up.calls.size, 100);
        assert.ok([...up.calls.values()].every((n) => n === 1), "each task called the upstream once");
        // Synchronously it is the same: the task fails alone with the reason, not a 500.
        await assert.rejects(
          h.svc.processor.processNow(ORG, { task_id: 42, task_type: "phone", data: "+7 42 again" }),
          (e) => e instanceof TaskFailedError && !e.transient && /SQLSTATE 22P0\d/.test(e.message),
        );
      } finally {
        await h.close();
      }
    }),
});

Deno.test({
  name: "a Postgres outage keeps the upstream's answers: the queue and REST retry only the store, one call per task",
  ignore: !pgAvailable,
  fn: () =>
    withSchema("enrich_o", async (schema, sql) => {
      const up = counting();
      const h = await startHarness({
        env: { DATABASE_URL: POSTGRES_URL, ENRICH_PG_SCHEMA: schema },
        options: { enrich: up.enrich, roundDelaysMs: [50, 100, 200, 400, 800, 1600, 3200] },
      });
      try {
        // The outage: the table is gone (every insert fails with 42P01) until it is put back.
        await sql.unsafe(`alter table ${schema}.integration_service rename to integration_service_away`);
        const tasks = Array.from({ length: 20 }, (_, i) => ({ task_id: i, task_type: "phone", data: `+7 ${i}` }));
        await h.svc.processor.submit(ORG, tasks, "queue");
        const rest: Task = { task_id: 100, task_type: "phone", data: "+7 100" };
        await assert.rejects(
          h.svc.processor.processNow(ORG, rest),
          (e) => e instanceof TaskFailedError && e.transient && /only the store is retried/.test(e.message),
        );
        await waitFor(
          async () => {
            const states = await Promise.all(tasks.map((t) => h.hub.kv.get<TaskState>(["task", ORG, t.task_id])));
            return states.every((s) => s.value?.status === "retrying" && s.value.kept !== undefined);
          },
          10_000,
          "every queued task retrying with its answer kept",
        );
        await sql.unsafe(`alter table ${schema}.integration_service_away rename to integration_service`);
        await waitFor(async () => (await h.svc.processor.stats(ORG)).phone?.done === 20, 20_000, "20 stored");
        const again = await h.svc.processor.processNow(ORG, rest);
        assert.equal((await h.svc.sink.get(ORG, again.id))?.task_id, 100);
        const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${schema}.integration_service`);
        assert.equal(n, 21);
        assert.equal(up.calls.size, 21);
        assert.ok([...up.calls.values()].every((c) => c === 1), JSON.stringify([...up.calls]));
        assert.equal((await h.hub.queue.dead.list(ORG)).items.length, 0);
      } finally {
        await h.close();
      }
    }),
});
