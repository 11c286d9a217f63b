import assert from "node:assert/strict";
import postgres from "postgres";
import { POSTGRES_URL } from "../helpers/services.ts";
import { PostgresSink } from "../../lib/enrichment/sinks/postgres_sink.ts";
import type { StoredRows } from "../../lib/enrichment/sinks/types.ts";
import { TaskConflictError } from "../../lib/enrichment/mod.ts";
import { migrate } from "../../lib/enrichment/migrations.ts";
import type { Task } from "../../lib/enrichment/task_schema.ts";
import { allResults, postgresOrSkip, startHarness, waitFor, withSchema } from "../helpers/enrichment.ts";

const available = await postgresOrSkip();

/** The row ids a store answered with. */
const storedIds = async (stored: Promise<StoredRows>) => (await stored).ids;

Deno.test({
  name: "PostgresSink migrations run once and upgrade a table left by the replaced service",
  ignore: !available,
  fn: () =>
    withSchema("enrich_t", async (schema, sql) => {
      await sql.unsafe(`create schema ${schema}`);
      await sql.unsafe(
        `create table ${schema}.integration_service (id bigserial primary key, data jsonb, task_type text)`,
      );
      await sql.unsafe(`insert into ${schema}.integration_service (data, task_type) values ('{"old":true}', 'phone')`);
      const sink = await PostgresSink.open({ url: POSTGRES_URL, schema });
      try {
        const again = postgres(POSTGRES_URL, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
        assert.deepEqual(await migrate(again), []);
        await again.end();
        const [id] = await storedIds(sink.store("o", [{ task_id: 1, task_type: "gpt", source: "q", data: "a" }]));
        assert.equal(id, 2, "the serial continues after the legacy row");
        const versions = await sql.unsafe(`select version from ${schema}.shlyuz_migrations order by version`);
        assert.deepEqual(versions.map((v) => v.version), [1, 2, 3]);
      } finally {
        await sink.close();
      }
    }),
});

Deno.test({
  name: "PostgresSink.store() is idempotent by (org, task_id) under concurrency",
  ignore: !available,
  fn: () =>
    withSchema("enrich_t", async (schema, sql) => {
      const a = await PostgresSink.open({ url: POSTGRES_URL, schema });
      const b = await PostgresSink.open({ url: POSTGRES_URL, schema });
      try {
        const rows = Array.from(
          { length: 50 },
          (_, i) => ({ task_id: i, task_type: "email" as const, source: `s${i}`, data: { i } }),
        );
        const runs = await Promise.all([
          storedIds(a.store("o", rows)),
          storedIds(b.store("o", rows)),
          storedIds(a.store("o", rows.slice(10))),
        ]);
        assert.deepEqual(runs[0], runs[1]);
        assert.deepEqual(runs[2], runs[0].slice(10));
        const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${schema}.integration_service`);
        assert.equal(n, 50);
        const other = await storedIds(a.store("o2", rows.slice(0, 1)));
        assert.notEqual(other[0], runs[0][0]);
        const page = await a.list("o", { type: "email", limit: 20 });
        assert.equal(page.items.length, 20);
        assert.equal(page.items[0].task_id, 49);
        const page2 = await a.list("o", { type: "email", limit: 40, cursor: page.cursor });
        assert.equal(page2.items.length, 30);
        assert.equal(page2.cursor, undefined);
        assert.deepEqual((await a.get("o", runs[0][3]))?.data, { i: 3 });
        assert.equal(await a.get("o2", runs[0][3]), null);
      } finally {
        await a.close();
        await b.close();
      }
    }),
});

Deno.test({
  name: "with DATABASE_URL the processor writes each task once to integration_service",
  ignore: !available,
  fn: () =>
    withSchema("enrich_t", async (schema, sql) => {
      let calls = 0;
      const h = await startHarness({
        env: { DATABASE_URL: POSTGRES_URL, ENRICH_PG_SCHEMA: schema },
        options: {
          enrich: (_o: string, t: Task) => {
            calls++;
            return Promise.resolve(t.task_type === "gpt" ? `answer ${t.data}` : { source: t.data, qc: 0 });
          },
        },
      });
      try {
        assert.equal(h.svc.sink.name, "postgres");
        const tasks: Task[] = Array.from({ length: 400 }, (_, i) => ({ task_id: i, task_type: "gpt", data: `p${i}` }));
        const direct = await Promise.all(tasks.slice(0, 20).map((t) => h.svc.processor.processNow("org", t)));
        await h.svc.processor.submit("org", tasks, "batch");
        await h.svc.processor.submit("org", tasks, "amqp");
        await waitFor(async () => (await allResults(h.svc, "org")).length >= 400, 20_000, "400 results");
        await waitFor(() => h.hub.queue.backlog().then((n) => n === 0), 10_000, "drain");
        const [{ n, distinct }] = await sql.unsafe(
          `select count(*)::int as n, count(distinct task_id)::int as distinct from ${schema}.integration_service`,
        );
        assert.equal(n, 400);
        assert.equal(distinct, 400);
        assert.equal(calls, 400);
        const results = await allResults(h.svc, "org");
        assert.equal(results.length, 400);
        for (const d of direct) assert.equal(results.find((r) => r.task_id === d.task_id)?.id, d.id);
        const row = await h.svc.sink.get("org", direct[0].id);
        assert.equal(row?.data, "answer p0");
      } finally {
        await h.close();
      }
    }),
});

Deno.test({
  name: "PostgresSink.store() refuses an existing row stored for other content and hands out same-content and old rows",
  ignore: !available,
  fn: () =>
    withSchema("enrich_t", async (schema) => {
      const sink = await PostgresSink.open({ url: POSTGRES_URL, schema });
      try {
        const [a] = await storedIds(
          sink.store("o", [{ task_id: 1, task_type: "gpt", source: "A", data: "x", hash: "ha" }]),
        );
        assert.deepEqual(
          await storedIds(sink.store("o", [{ task_id: 1, task_type: "gpt", source: "A", data: "x", hash: "ha" }])),
          [a],
        );
        await assert.rejects(
          storedIds(sink.store("o", [{ task_id: 1, task_type: "gpt", source: "B", data: "y", hash: "hb" }])),
          TaskConflictError,
        );
        // A row from before the content hash existed (null) is handed out as before.
        const [old] = await storedIds(sink.store("o", [{ task_id: 2, task_type: "gpt", source: "A", data: "x" }]));
        assert.deepEqual(
          await storedIds(sink.store("o", [{ task_id: 2, task_type: "gpt", source: "A", data: "x", hash: "h" }])),
          [old],
        );
      } finally {
        await sink.close();
      }
    }),
});

Deno.test({
  name:
    "with DATABASE_URL a task whose stored row belongs to other content answers a conflict, its neighbours are stored",
  ignore: !available,
  fn: () =>
    withSchema("enrich_t", async (schema) => {
      const h = await startHarness({
        env: { DATABASE_URL: POSTGRES_URL, ENRICH_PG_SCHEMA: schema },
        options: { enrich: (_o: string, t: Task) => Promise.resolve(`answer ${t.data}`) },
      });
      try {
        const first = await h.svc.processor.processNow("o", { task_id: 1, task_type: "gpt", data: "A" });
        // The KV state is gone (a reset store), the Postgres row stays.
        await h.hub.kv.delete(["task", "o", 1]);
        await assert.rejects(
          h.svc.processor.processNow("o", { task_id: 1, task_type: "gpt", data: "B" }),
          TaskConflictError,
        );
        await h.hub.kv.delete(["task", "o", 1]);
        assert.deepEqual(await h.svc.processor.processNow("o", { task_id: 1, task_type: "gpt", data: "A" }), first);
        const r2 = await h.svc.processor.processNow("o", { task_id: 2, task_type: "gpt", data: "C" });
        assert.equal(r2.task_id, 2);
      } finally {
        await h.close();
      }
    }),
});
