/**
 * Enrichment benchmarks, loopback only, against the DaData fake:
 * - synchronous REST (`POST /api/v1/tasks`, each a new task → one DaData
 *   call) at 50 connections, next to bare `/ping/` from the same run;
 * - queue drain of 10,000 tasks end to end (batch endpoint → task.process →
 *   DaData → row → result) with the KV sink and with the Postgres sink, next
 *   to the raw KV-queue ceiling (no-op handler) measured in the same run.
 * All KVs are file-backed. Prints its figures; no assertions.
 */
import postgres from "postgres";
import { startDadataFake } from "../fakes/dadata.ts";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { POSTGRES_URL } from "../helpers/services.ts";
import { Queue } from "../../lib/queue/queue.ts";
import { Metrics } from "../../lib/metrics.ts";
import { createLogger } from "../../lib/log.ts";

const CONNECTIONS = 50;

async function load(
  count: number,
  fn: (i: number) => Promise<Response>,
): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (next < count) {
      const i = next++;
      const s = performance.now();
      const res = await fn(i);
      await res.body?.cancel();
      if (!res.ok) errors++;
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    rps: Math.round(count / secs),
    p50: round(lat[Math.floor(lat.length * 0.5)]),
    p99: round(lat[Math.floor(lat.length * 0.99)]),
    errors,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

async function withHub<T>(env: Record<string, string>, dadataUrl: string, fn: (t: TestHub) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_bench_" });
  const t = await startTestHub({
    env: {
      SHLYUZ_KV_PATH: env.SHLYUZ_KV_PATH ?? `${dir}/hub.kv`,
      SHLYUZ_LOG_LEVEL: "error",
      DADATA_BASE_URL: dadataUrl,
      DADATA_API_KEY: "test-dadata-key",
      DADATA_SECRET_KEY: "test-dadata-secret",
      ...env,
    },
  });
  try {
    return await fn(t);
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function drain(t: TestHub, n: number): Promise<number> {
  const tasks = Array.from({ length: n }, (_, i) => ({
    task_id: 1_000_000 + i,
    task_type: i % 2 ? "phone" : "email",
    data: i % 2 ? `+7 916 ${String(i).padStart(7, "0")}` : `user${i}@mail.ru`,
  }));
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const res = await t.api("/api/v1/tasks/batch", { method: "POST", json: { tasks: tasks.slice(i, i + 1000) } });
    await res.body?.cancel();
  }
  const svc = t.hub.enrichment!;
  for (;;) {
    const s = await svc.processor.stats(t.org);
    if ((s.phone?.done ?? 0) + (s.email?.done ?? 0) >= n) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return Math.round(n / ((performance.now() - t0) / 1000));
}

async function rawQueueCeiling(n: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_bench_q_" });
  const kv = await Deno.openKv(`${dir}/q.kv`);
  const queue = new Queue(kv, { log: createLogger({ level: "error" }), metrics: new Metrics() });
  let handled = 0;
  queue.register({
    kind: "bench.noop",
    payload: { safeParse: (v: unknown) => ({ success: true, data: v }) } as never,
    handle: () => {
      handled++;
      return Promise.resolve();
    },
  });
  const listening = queue.listen();
  const t0 = performance.now();
  await queue.enqueueMany(Array.from({ length: n }, (_, i) => ({ kind: "bench.noop", org: "b", payload: { i } })));
  while (handled < n) await new Promise((r) => setTimeout(r, 10));
  const rate = Math.round(n / ((performance.now() - t0) / 1000));
  await queue.idle();
  await new Promise((r) => setTimeout(r, 200)); // let the KV queue ack the last deliveries before closing
  kv.close();
  await listening.catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return rate;
}

async function postgresAvailable(): Promise<boolean> {
  const sql = postgres(POSTGRES_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Runs the enrichment benchmarks and prints the figures. */
export async function run(): Promise<Record<string, number | string>> {
  const dadata = await startDadataFake();
  const out: Record<string, number | string> = {};
  try {
    for (const [label, env] of [["", {}], ["_memory_kv", { SHLYUZ_KV_PATH: ":memory:" }]] as const) {
      await withHub(env, dadata.url, async (t) => {
        await load(500, () => fetch(`${t.url}/ping/`)); // warm-up
        const ping = await load(10_000, () => fetch(`${t.url}/ping/`));
        let id = 0;
        const post = () =>
          t.api("/api/v1/tasks", {
            method: "POST",
            json: { task_id: id++, task_type: "phone", data: "+7 916 123-45-67" },
          });
        await load(300, post);
        const sync = await load(5000, post);
        Object.assign(out, {
          [`ping${label}_rps`]: ping.rps,
          [`ping${label}_p50_p99_ms`]: `${ping.p50} / ${ping.p99}`,
          [`rest_sync${label}_rps`]: sync.rps,
          [`rest_sync${label}_p50_p99_ms`]: `${sync.p50} / ${sync.p99}`,
          [`rest_sync${label}_errors`]: sync.errors,
          [`rest_sync${label}_share_of_ping`]: `${Math.round((sync.rps / ping.rps) * 100)}%`,
        });
      });
    }
    out.kv_queue_noop_ceiling_msg_s = await rawQueueCeiling(10_000);
    out.drain_10k_kv_sink_tasks_s = await withHub({}, dadata.url, (t) => drain(t, 10_000));
    if (await postgresAvailable()) {
      const schema = `enrich_bench_${crypto.randomUUID().slice(0, 8)}`;
      try {
        out.drain_10k_postgres_sink_tasks_s = await withHub(
          { DATABASE_URL: POSTGRES_URL, ENRICH_PG_SCHEMA: schema },
          dadata.url,
          (t) => drain(t, 10_000),
        );
      } finally {
        const sql = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
        await sql.unsafe(`drop schema if exists ${schema} cascade`);
        await sql.end();
      }
    } else {
      out.drain_10k_postgres_sink_tasks_s = "skipped (no Postgres)";
    }
  } finally {
    await dadata.close();
  }
  // deno-lint-ignore no-console
  console.log(
    "enrichment bench (connections=50, loopback, file-backed KV unless _memory_kv)\n" +
      Object.entries(out).map(([k, v]) => `  ${k.padEnd(34)} ${v}`).join("\n"),
  );
  return out;
}

if (import.meta.main) await run();
