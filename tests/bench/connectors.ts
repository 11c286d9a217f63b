/**
 * Connector figures (printed, never asserted):
 * - 1,000 agents (the real Agent class) connected to one hub in its own process: the hub's RSS before, right
 *   after the 1,000 handshakes and settled (the lowest over 30 s of heartbeats, V8 having handed back the
 *   burst's heap), its live heap, and job round-trip p50/p99 on loopback (hub → agent → hub, 1,000 ping jobs);
 * - time from a ticket crossing its SLA in the fake ticket system to the `sla.breached` event on the hub's SSE
 *   stream: when a poll runs at once ("poll now"), and on a 5-second schedule with the ticket crossing by the
 *   clock alone (up to one interval of waiting for the next poll);
 * - snapshot ingest rate (tickets/s) into the KV store (in memory and file) and PostgreSQL when it is reachable.
 */
// deno-lint-ignore-file no-console
import postgres from "postgres";
import { Agent } from "../../lib/connector/agent.ts";
import { HttpTicketAdapter } from "../../lib/connector/http_adapter.ts";
import { SlaService } from "../../lib/sla/service.ts";
import { PostgresSlaSink } from "../../lib/sla/postgres_sink.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { Ticket } from "../../lib/sla/ticket.ts";
import { FAKE_USER, startTicketSystemFake } from "../fakes/ticket_system.ts";
import { POSTGRES_URL } from "../helpers/services.ts";
import { hubV8Flags } from "./load.ts";

const AGENTS = Number(Deno.env.get("BENCH_AGENTS") ?? 1000);
/** V8 flags of the hub process: those of `deno task start` (load.ts hubV8Flags; `BENCH_V8_FLAGS` replaces them). */
const V8_FLAGS = ["--expose-gc", ...hubV8Flags().split(",").filter(Boolean)].join(",");

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const r1 = (n: number) => Math.round(n * 10) / 10;
const mb = (n: number) => r1(n / 1024 / 1024);

class HubProcess {
  readonly child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: string[] = [];
  #wake: (() => void) | null = null;
  constructor() {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--v8-flags=${V8_FLAGS}`, new URL("../connector/_bench_hub.ts", import.meta.url).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    const stdout = this.child.stdout;
    (async () => {
      let buf = "";
      for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        const parts = buf.split("\n");
        buf = parts.pop()!;
        this.#lines.push(...parts);
        this.#wake?.();
      }
    })();
  }
  async expect(prefix: string): Promise<string> {
    for (;;) {
      const i = this.#lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return this.#lines.splice(i, 1)[0].slice(prefix.length).trim();
      await new Promise<void>((r) => this.#wake = r);
    }
  }
  async send(cmd: string) {
    await this.#writer.write(new TextEncoder().encode(cmd + "\n"));
  }
}

function tickets(n: number): Ticket[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: `T-${i}`,
    title: `Заявка номер ${i}: нет связи в цехе`,
    status: "open",
    priority: "normal",
    department: ["Сеть", "Выезд", "Первая линия"][i % 3],
    assignee: "Иванов Иван",
    createdAt: new Date(now - 5 * 3600_000).toISOString(),
    slaDeadline: new Date(now - 3600_000).toISOString(),
    suspendedSince: null,
    reason: i % 2 ? "Ждём подрядчика" : null,
    history: [
      {
        department: "Первая линия",
        from: new Date(now - 5 * 3600_000).toISOString(),
        to: new Date(now - 4 * 3600_000).toISOString(),
      },
      { department: "Сеть", from: new Date(now - 4 * 3600_000).toISOString(), to: null },
    ],
  }));
}

async function ingestRate(svc: SlaService, n: number, rounds = 5): Promise<number> {
  const list = tickets(n);
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    await svc.ingest("bench", "arrears", list, { jobId: `b${i}-${crypto.randomUUID()}` });
  }
  return Math.round((n * rounds) / ((performance.now() - started) / 1000));
}

export async function run(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const hub = new HubProcess();
  const [url, token, _org] = (await hub.expect("READY")).split(" ");
  const api = (path: string, body?: unknown) =>
    fetch(url + path, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  await hub.send("rss");
  out.hub_rss_idle_mb = mb(Number(await hub.expect("RSS")));

  const creds: Array<{ connectorId: string; token: string; key: string }> = [];
  for (let i = 0; i < AGENTS; i += 50) {
    creds.push(
      ...await Promise.all(Array.from({ length: Math.min(50, AGENTS - i) }, async (_, j) => {
        const res = await api("/api/v1/connectors", { name: `bench ${i + j}` });
        return (await res.json()).credentials;
      })),
    );
  }
  const idle = { query: () => Promise.resolve({ tickets: [], truncated: false }) };
  const agents = creds.map((c) =>
    new Agent({ server: url, ...c, adapter: idle, backoff: { baseMs: 200, maxMs: 5000 } })
  );
  const connectStarted = performance.now();
  for (const a of agents) a.start();
  await Promise.all(agents.map((a) => a.waitFor((x) => x.state === "online")));
  out.agents = AGENTS;
  out.hub_v8_flags = V8_FLAGS;
  out.connect_all_s = r1((performance.now() - connectStarted) / 1000);
  await hub.send("rss");
  out.hub_rss_with_agents_mb = mb(Number(await hub.expect("RSS")));
  // Right after 1,000 handshakes V8 keeps the heap pages of that burst; its memory reducer hands them back
  // once the hub is quiet. The settled figure is the hub holding 1,000 idle agents (heartbeats only).
  let settled = Infinity;
  let live = 0;
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    await hub.send("mem");
    const m = JSON.parse(await hub.expect("MEM")) as Deno.MemoryUsage;
    if (m.rss < settled) [settled, live] = [m.rss, m.heapUsed];
  }
  out.hub_rss_settled_with_agents_mb = mb(settled);
  out.hub_heap_live_with_agents_mb = mb(live);
  await hub.send("rtt 1000");
  const rtt: number[] = JSON.parse(await hub.expect("RTT"));
  out.job_rtt_p50_ms = r1(pct(rtt, 50));
  out.job_rtt_p99_ms = r1(pct(rtt, 99));
  await Promise.all(agents.map((a) => a.stop()));

  // SLA crossing → sla.breached on the SSE stream, with one real agent and the fake ticket system.
  const fake = await startTicketSystemFake();
  const first = (await (await api("/api/v1/connectors", { name: "bench sla" })).json()).credentials;
  const agent = new Agent({
    server: url,
    ...first,
    adapter: new HttpTicketAdapter({ baseUrl: fake.url, email: FAKE_USER.email, password: FAKE_USER.password }),
    filters: { arrears: "f-arrears", stopped: "f-stopped" },
  });
  agent.start();
  await agent.waitFor((a) => a.state === "online");
  const sse = await fetch(`${url}/api/v1/events?types=sla.breached&plain=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    fake.upsert({ number: `X-${i}`, sla_deadline: new Date(Date.now() - 1).toISOString() });
    const crossed = performance.now();
    await (await api("/api/v1/sla/poll", {})).body?.cancel();
    let text = "";
    while (!text.includes(`"X-${i}"`)) text += (await reader.read()).value ?? "";
    latencies.push(performance.now() - crossed);
  }
  out.sla_cross_to_event_p50_ms = r1(pct(latencies, 50));
  out.sla_cross_to_event_max_ms = r1(Math.max(...latencies));
  // On schedule: a 5-second interval, tickets crossing by the clock alone (no "poll now").
  await (await fetch(`${url}/api/v1/sla/settings`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ intervalSec: 5 }),
  })).body?.cancel();
  const scheduled: number[] = [];
  for (let i = 0; i < 6; i++) {
    // Anywhere in the interval, so the wait for the next poll is not always the same.
    const crossesAt = Date.now() + 700 + Math.round(Math.random() * 5000);
    fake.upsert({ number: `Y-${i}`, sla_deadline: new Date(crossesAt).toISOString() });
    let text = "";
    while (!text.includes(`"Y-${i}"`)) text += (await reader.read()).value ?? "";
    scheduled.push(Date.now() - crossesAt);
  }
  await reader.cancel();
  out.sla_cross_to_event_on_5s_schedule_p50_ms = r1(pct(scheduled, 50));
  out.sla_cross_to_event_on_5s_schedule_max_ms = r1(Math.max(...scheduled));
  await agent.stop();
  await fake.shutdown();
  await hub.send("quit");
  await hub.child.status;

  // Snapshot ingest.
  const events = { publish: () => Promise.resolve(null) };
  const mem = await Deno.openKv(":memory:");
  out.ingest_kv_memory_tickets_per_s = await ingestRate(
    new SlaService({ kv: mem, log: memoryLogger(), now: Date.now, events }),
    2000,
  );
  mem.close();
  const dir = await Deno.makeTempDir();
  const file = await Deno.openKv(`${dir}/bench.kv`);
  out.ingest_kv_file_tickets_per_s = await ingestRate(
    new SlaService({ kv: file, log: memoryLogger(), now: Date.now, events }),
    2000,
  );
  file.close();
  await Deno.remove(dir, { recursive: true });
  const schema = `sla_bench_${crypto.randomUUID().slice(0, 8)}`;
  try {
    const sink = await PostgresSlaSink.open({ url: POSTGRES_URL, schema });
    const kv = await Deno.openKv(":memory:");
    const svc = new SlaService({ kv, log: memoryLogger(), now: Date.now, events, sink });
    out.ingest_kv_memory_and_postgres_tickets_per_s = await ingestRate(svc, 2000);
    await svc.close();
    kv.close();
    const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop schema if exists ${schema} cascade`);
    await admin.end();
  } catch (error) {
    out.ingest_kv_memory_and_postgres_tickets_per_s = `skipped: ${error instanceof Error ? error.message : error}`;
  }
  return out;
}

if (import.meta.main) console.table(await run());
