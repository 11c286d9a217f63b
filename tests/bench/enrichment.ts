/**
 * Enrichment benchmarks, loopback only, against the DaData fake:
 * - synchronous REST (`POST /api/v1/tasks`, each a new task → one DaData
 *   call) at 50 connections, next to bare `/ping/` of the same hub in the
 *   same run. Like production, the hub is its own process (main.ts), the
 *   DaData fake a second one, and this process only generates load, so the
 *   figure is the hub's and not the load generator's. File-backed and
 *   `:memory:` KV. `SHLYUZ_BENCH_CPU_PROF=<dir>` runs the hub with
 *   `--cpu-prof` and leaves its .cpuprofile files there;
 * - queue drain of 10,000 tasks end to end (batch endpoint → task.process →
 *   DaData → row → result) with the KV sink and with the Postgres sink, next
 *   to the raw KV-queue ceiling (no-op handler) measured in the same run.
 * The drain figures run in this process (they read the processor's stats);
 * their KVs are file-backed. Prints its figures; no assertions.
 */
import postgres from "postgres";
import { startDadataFake } from "../fakes/dadata.ts";
import {
  type ChildServer,
  cpuSeconds,
  freePort,
  load,
  type LoadResult,
  startHubProcess,
  startProcess,
} from "./load.ts";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { POSTGRES_URL } from "../helpers/services.ts";
import { z } from "zod";
import { defineJob, defineKind, Queue } from "../../lib/queue/queue.ts";
import { Metrics } from "../../lib/metrics.ts";
import { createLogger } from "../../lib/log.ts";

const CONNECTIONS = 50;

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
  queue.register(defineJob(defineKind({ kind: "bench.noop", payload: z.unknown(), description: "counts" }), {
    handle: () => {
      handled++;
      return Promise.resolve();
    },
  }));
  const listening = queue.listen();
  const t0 = performance.now();
  await queue.enqueueMany(Array.from({ length: n }, (_, i) => ({ kind: "bench.noop", payload: { i }, org: "b" })));
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

const TOKEN = "shz_bench_owner_token_0123456789abcdef";
const DADATA_KEY = "test-dadata-key";
const DADATA_SECRET = "test-dadata-secret";
/** Each figure: at most this many requests or this long, whichever first. */
const BOUND = { connections: CONNECTIONS, maxRequests: 20_000, maxMs: 10_000 };
const WARM_UP = { connections: CONNECTIONS, maxRequests: 1000, maxMs: 3000 };

/** The DaData fake as its own process (defaults: no rate limit, no latency, no faults). */
function startDadataProcess(): Promise<ChildServer> {
  const port = freePort();
  return startProcess(["run", "-A", "tests/fakes/dadata.ts", String(port)], {
    port,
    probePath: "/api/v1/clean/phone",
    ready: (r) => r.status === 405, // GET is refused: the server is up
  });
}

/** `/ping/` then synchronous `POST /api/v1/tasks` (new phone tasks) against a hub process. */
async function syncRest(kvPath: string, dadata: ChildServer, label: string) {
  const profDir = Deno.env.get("SHLYUZ_BENCH_CPU_PROF");
  const hub = await startHubProcess({
    SHLYUZ_KV_PATH: kvPath,
    SHLYUZ_ADMIN_TOKEN: TOKEN,
    DADATA_BASE_URL: dadata.url,
    DADATA_API_KEY: DADATA_KEY,
    DADATA_SECRET_KEY: DADATA_SECRET,
    SHLYUZ_DISABLE_CRON: "1",
    SHLYUZ_LOG_LEVEL: "warn",
  }, {
    port: freePort(),
    denoFlags: profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=hub${label}.cpuprofile`] : [],
  });
  try {
    const ping = () => new Request(`${hub.url}/ping/`);
    /** Runs one load and notes how busy each process was meanwhile (% of one core). */
    const measured = async (make: () => Request) => {
      const procs = [() => hub.cpuSeconds(), () => dadata.cpuSeconds(), () => cpuSeconds("self")];
      const before = await Promise.all(procs.map((p) => p()));
      const r = await load(make, BOUND);
      const used = (await Promise.all(procs.map((p) => p()))).map((c, i) => c - before[i]);
      const pct = (s: number) => Math.round((s / r.seconds) * 100);
      return { ...r, cpu: `${pct(used[0])}% / ${pct(used[1])}% / ${pct(used[2])}%` };
    };
    await load(ping, WARM_UP);
    const pingR = await measured(ping);
    let taskId = 0; // unique over warm-up and measurement: every request is a new task → one DaData call
    const post = () =>
      new Request(`${hub.url}/api/v1/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({
          task_id: ++taskId,
          task_type: "phone",
          data: `+7 916 ${String(taskId).padStart(7, "0")}`,
        }),
      });
    await load(post, WARM_UP);
    const restR = await measured(post);
    return { ping: pingR, rest: restR };
  } finally {
    const status = await hub.stop();
    if (!status.success && status.signal !== "SIGTERM") {
      // deno-lint-ignore no-console
      console.error(`hub${label} exited with ${status.code}:\n${hub.stderrTail()}`);
    }
  }
}

type Measured = LoadResult & { cpu: string };

function restFigures(label: string, { ping, rest }: { ping: Measured; rest: Measured }) {
  return {
    [`ping${label}_rps`]: ping.rps,
    [`ping${label}_p50_p99_ms`]: `${ping.p50ms} / ${ping.p99ms}`,
    [`ping${label}_errors`]: ping.errors,
    [`ping${label}_cpu_hub_fake_bench`]: ping.cpu,
    [`rest_sync${label}_rps`]: rest.rps,
    [`rest_sync${label}_p50_p99_ms`]: `${rest.p50ms} / ${rest.p99ms}`,
    [`rest_sync${label}_requests`]: rest.requests,
    [`rest_sync${label}_errors`]: rest.errors,
    [`rest_sync${label}_cpu_hub_fake_bench`]: rest.cpu,
    [`rest_sync${label}_share_of_ping`]: `${Math.round((rest.rps / ping.rps) * 100)}%`,
  };
}

/** Runs the enrichment benchmarks and prints the figures. */
export async function run(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const dadataProc = await startDadataProcess();
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_bench_rest_" });
  try {
    Object.assign(out, restFigures("", await syncRest(`${dir}/hub.kv`, dadataProc, "")));
    Object.assign(out, restFigures("_memory_kv", await syncRest(":memory:", dadataProc, "_memory_kv")));
  } finally {
    await dadataProc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const dadata = await startDadataFake();
  try {
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
    "enrichment bench (connections=50, loopback, file-backed KV unless _memory_kv; hub and DaData fake in their\n" +
      "own processes for ping/rest_sync; cpu_hub_fake_bench = % of one core each process used meanwhile — a bench\n" +
      "process near 100% means that figure is bound by the load generator, not the hub)\n" +
      Object.entries(out).map(([k, v]) => `  ${k.padEnd(40)} ${v}`).join("\n"),
  );
  return out;
}

if (import.meta.main) await run();
