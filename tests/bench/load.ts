/**
 * A small closed-loop HTTP load generator for the benchmarks: `connections`
 * concurrent loops, each sending its next request when the previous answer
 * arrived, for a fixed number of requests or a time limit (whichever first).
 * Loopback only.
 */

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export async function load(
  makeRequest: (i: number) => Request,
  { connections = 50, maxRequests = 20_000, maxMs = 10_000, ok = (r: Response) => r.ok }: {
    connections?: number;
    maxRequests?: number;
    maxMs?: number;
    ok?: (r: Response) => boolean;
  } = {},
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const until = started + maxMs;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (next < maxRequests && performance.now() < until) {
      const i = next++;
      const t0 = performance.now();
      try {
        const res = await fetch(makeRequest(i));
        await res.arrayBuffer();
        if (!ok(res)) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds: round(seconds, 2),
    rps: Math.round(latencies.length / seconds),
    p50ms: round(percentile(latencies, 50), 2),
    p99ms: round(percentile(latencies, 99), 2),
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A server started as a child process by a benchmark. */
export interface ChildServer {
  url: string;
  child: Deno.ChildProcess;
  /** Spawn to the first good probe answer, ms. */
  coldStartMs: number;
  /** Resident memory of the child, MiB (Linux /proc). */
  rssMiB(): Promise<number>;
  /** CPU time (user + system) the child has used so far, seconds (Linux /proc). */
  cpuSeconds(): Promise<number>;
  /** The last few KiB the child wrote to stderr (for error messages). */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; always awaits the exit. Safe to call twice. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `deno <args>` (or `command <args>`) with `env` and waits (bounded, ~10 s) until `probe`
 * answers on 127.0.0.1:`port`. If it never does, the child is killed and
 * awaited and the error carries its stderr.
 */
export async function startProcess(
  args: string[],
  { env = {}, port, probePath = "/", ready = (r: Response) => r.ok, startMs = 10_000, command = Deno.execPath() }: {
    env?: Record<string, string>;
    port: number;
    probePath?: string;
    ready?: (r: Response) => boolean;
    startMs?: number;
    /** The program to run with `args` (default: this deno). */
    command?: string;
  },
): Promise<ChildServer> {
  const started = performance.now();
  // The repository root, so deno.json (imports, unstable flags) and relative paths resolve as in production.
  const cwd = new URL("../../", import.meta.url).pathname;
  const child = new Deno.Command(command, { args, env, cwd, stdout: "null", stderr: "piped" }).spawn();
  let tail = "";
  // Drain stderr all along so a chatty child never blocks on a full pipe; keep the tail for errors.
  const draining = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (tail = (tail + chunk).slice(-8192)) }),
  ).catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<Deno.CommandStatus> | undefined;
  const server: ChildServer = {
    url,
    child,
    coldStartMs: 0,
    async rssMiB() {
      const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      return round(kb / 1024, 1);
    },
    cpuSeconds: () => cpuSeconds(child.pid),
    stderrTail: () => tail,
    stop(graceMs = 15_000) {
      return stopping ??= (async () => {
        if (!exited) {
          try {
            child.kill("SIGTERM");
          } catch { /* already gone */ }
          let timer: ReturnType<typeof setTimeout> | undefined;
          const killed = await Promise.race([
            status.then(() => false),
            new Promise<boolean>((r) => timer = setTimeout(() => r(true), graceMs)),
          ]);
          clearTimeout(timer);
          if (killed) {
            try {
              child.kill("SIGKILL");
            } catch { /* exited meanwhile */ }
          }
        }
        const s = await status;
        await draining;
        return s;
      })();
    },
  };
  let up = false;
  while (!up && !exited && performance.now() - started < startMs) {
    try {
      const r = await fetch(`${url}${probePath}`);
      await r.body?.cancel();
      up = ready(r);
    } catch { /* not up yet */ }
    if (!up) await new Promise((r) => setTimeout(r, 10));
  }
  if (!up) {
    await server.stop(2000);
    throw new Error(`${command} ${args.join(" ")} did not come up on ${url}:\n${tail}`);
  }
  server.coldStartMs = performance.now() - started;
  return server;
}

/**
 * The V8 flags the hub runs with: those of `deno task start` (deno.json, the
 * memory profile the Dockerfile repeats), so a benchmark measures the hub as
 * it is started; `BENCH_V8_FLAGS` replaces them (`BENCH_V8_FLAGS=none`: V8's
 * own defaults, to measure what the profile costs and saves).
 */
export function hubV8Flags(): string {
  const asked = Deno.env.get("BENCH_V8_FLAGS");
  if (asked !== undefined) return asked === "none" ? "" : asked;
  const config = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  return /--v8-flags=(\S+)/.exec(config.tasks.start)?.[1] ?? "";
}

/**
 * Starts main.ts as a child process with `env` and the hub's V8 flags
 * (hubV8Flags); resolves once /ping/ answers. `denoFlags` go before the
 * script (e.g. `--cpu-prof`).
 */
export function startHubProcess(
  env: Record<string, string>,
  { port, denoFlags = [] }: { port: number; denoFlags?: string[] },
): Promise<ChildServer> {
  const v8 = hubV8Flags();
  return startProcess(["run", ...(v8 ? [`--v8-flags=${v8}`] : []), ...denoFlags, "-A", "main.ts"], {
    env: { PORT: String(port), SHLYUZ_LOG_LEVEL: "warn", SHLYUZ_DISABLE_CRON: "1", ...env },
    port,
    probePath: "/ping/",
  });
}

/** CPU time (user + system) of a process so far, seconds; `"self"` = this process (Linux /proc, 100 Hz ticks). */
export async function cpuSeconds(pid: number | "self"): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** What one wrk run measured (wrk 4.1 with `--latency`). */
export interface WrkResult {
  requests: number;
  /** Non-2xx/3xx answers plus socket errors (connect, read, write, timeout). */
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

/**
 * Runs `wrk` (its own process, 2 threads) against `url` for `seconds` at
 * `connections`. `lua` is a wrk script (e.g. one that sends a new task_id per
 * request); `args` reach its `init(args)`. wrk is Debian's package `wrk`.
 */
export async function wrk(
  url: string,
  { connections = 50, seconds = 10, threads = 2, lua, args = [] }: {
    connections?: number;
    seconds?: number;
    threads?: number;
    lua?: string;
    args?: string[];
  } = {},
): Promise<WrkResult> {
  let script: string | undefined;
  if (lua) {
    script = await Deno.makeTempFile({ prefix: "shlyuz_wrk_", suffix: ".lua" });
    await Deno.writeTextFile(script, lua);
  }
  try {
    const out = await new Deno.Command("wrk", {
      args: [
        `-t${threads}`,
        `-c${connections}`,
        `-d${seconds}s`,
        "--latency",
        "--timeout",
        "10s",
        ...(script ? ["-s", script] : []),
        url,
        ...(args.length ? ["--", ...args] : []),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}\n${text}`);
    return parseWrk(text);
  } finally {
    if (script) await Deno.remove(script).catch(() => {});
  }
}

/** Parses wrk's text report. */
export function parseWrk(text: string): WrkResult {
  const ms = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? NaN);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    return m ? round(ms(m[1], m[2]), 2) : NaN;
  };
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  const requests = Number(done?.[1] ?? NaN);
  const seconds = done ? ms(done[2], done[3]) / 1000 : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = sock ? sock.slice(1).reduce((n, v) => n + Number(v), 0) : 0;
  return {
    requests,
    errors: non2xx + socketErrors,
    seconds: round(seconds, 2),
    rps: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN)),
    p50ms: pct("50"),
    p99ms: pct("99"),
  };
}

/** Peak resident memory of a process so far, MiB (Linux /proc VmHWM). */
export async function peakRssMiB(pid: number): Promise<number> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  return round(Number(/VmHWM:\s+(\d+)/.exec(text)?.[1] ?? NaN) / 1024, 1);
}

/**
 * The in-runtime non-durable ceiling of an enrichment: HTTP in → POST the
 * phone to the DaData fake (keep-alive, parsed JSON) → answer `{task_id, id}`
 * with a counter for id. Stores nothing, checks nothing — what a
 * Node-RED "http in → http request → http response" flow does, in Deno.
 * `deno run -A tests/bench/load.ts plain-enrich PORT DADATA_URL`.
 */
function servePlainEnrich(port: number, dadataUrl: string): void {
  let id = 0;
  const headers = {
    authorization: "Token test-dadata-key",
    "x-secret": "test-dadata-secret",
    "content-type": "application/json",
  };
  Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    if (req.method !== "POST") return new Response("ok");
    const task = await req.json() as { task_id: number; data: string };
    const res = await fetch(`${dadataUrl}/api/v1/clean/phone`, {
      method: "POST",
      headers,
      body: JSON.stringify([task.data]),
    });
    const [record] = await res.json() as unknown[];
    return Response.json({ task_id: task.task_id, id: ++id, qc: (record as { qc?: unknown })?.qc });
  });
}

if (import.meta.main && Deno.args[0] === "plain-enrich") {
  servePlainEnrich(Number(Deno.args[1]), Deno.args[2]);
}
