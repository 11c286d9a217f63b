/**
 * Foundation figures: the bare ceiling that later capabilities compare with.
 * /ping/ and an authenticated JSON route at 50 connections, SSE fan-out to
 * 1,000 clients, cold start to first response, idle memory.
 */
import { freePort, load, round, startHubProcess } from "./load.ts";

const TOKEN = "shz_bench_owner_token_0123456789abcdef";

async function sseFanOut(
  url: string,
  clients: number,
): Promise<{ connectMs: number; fanOutMs: number; received: number }> {
  const t0 = performance.now();
  const streams = await Promise.all(Array.from({ length: clients }, async () => {
    const res = await fetch(`${url}/api/v1/events?types=custom.bench`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read(); // the "retry:" preamble: the stream is subscribed
    return reader;
  }));
  const connectMs = performance.now() - t0;
  const publishedAt = performance.now();
  const arrivals = streams.map(async (reader) => {
    let buf = "";
    while (!buf.includes("custom.bench")) {
      const { value, done } = await reader.read();
      if (done) return NaN;
      buf += value;
    }
    return performance.now();
  });
  const res = await fetch(`${url}/api/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "custom.bench", data: { n: 1 } }),
  });
  await res.body?.cancel();
  const times = await Promise.all(arrivals);
  await Promise.all(streams.map((r) => r.cancel()));
  const received = times.filter((t) => !Number.isNaN(t)).length;
  return { connectMs: round(connectMs), fanOutMs: round(Math.max(...times) - publishedAt, 1), received };
}

export async function run(): Promise<Record<string, number | string>> {
  const hub = await startHubProcess({ SHLYUZ_KV_PATH: ":memory:", SHLYUZ_ADMIN_TOKEN: TOKEN }, { port: freePort() });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const idle = await hub.rssMiB();
    const ping = await load(() => new Request(`${hub.url}/ping/`), {
      connections: 50,
      maxRequests: 30_000,
      maxMs: 8000,
    });
    const me = await load(
      () => new Request(`${hub.url}/api/v1/me`, { headers: { authorization: `Bearer ${TOKEN}` } }),
      { connections: 50, maxRequests: 20_000, maxMs: 8000 },
    );
    const sse = await sseFanOut(hub.url, 1000);
    const figures = {
      "cold start to first /ping/ (ms)": round(hub.coldStartMs),
      "idle RSS (MiB)": idle,
      "/ping/ req/s @50": ping.rps,
      "/ping/ p50 (ms)": ping.p50ms,
      "/ping/ p99 (ms)": ping.p99ms,
      "/ping/ errors": ping.errors,
      "GET /api/v1/me (token) req/s @50": me.rps,
      "GET /api/v1/me p50 (ms)": me.p50ms,
      "GET /api/v1/me p99 (ms)": me.p99ms,
      "GET /api/v1/me errors": me.errors,
      "SSE: 1000 clients connected in (ms)": sse.connectMs,
      "SSE: fan-out to 1000 clients (ms)": sse.fanOutMs,
      "SSE: clients that received": sse.received,
      "RSS after load (MiB)": await hub.rssMiB(),
    };
    return figures;
  } finally {
    await hub.stop();
  }
}

if (import.meta.main) {
  // deno-lint-ignore no-console
  console.table(await run());
}
