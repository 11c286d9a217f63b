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

/** Starts main.ts as a child process with `env`; resolves once /ping/ answers. */
export async function startHubProcess(env: Record<string, string>, { port }: { port: number }) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    env: { PORT: String(port), SHLYUZ_LOG_LEVEL: "warn", SHLYUZ_DISABLE_CRON: "1", ...env },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(`${url}/ping/`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  const coldStartMs = performance.now() - started;
  return {
    url,
    child,
    coldStartMs,
    /** Resident memory of the child, MiB (Linux /proc). */
    async rssMiB(): Promise<number> {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      return round(kb / 1024, 1);
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.stderr.cancel();
      await child.status;
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
