/**
 * Scheduler figures: 1,000 schedules firing every minute.
 * - tick: time to plan the coming minute of all 1,000 (in-memory and file-backed KV), over several simulated minutes;
 * - firing delay: 1,000 schedules due at the same second, fired by the real queue listener, planned vs actual start.
 * Loopback only, bounded (≈ 20 s), no assertions on time.
 */
// deno-lint-ignore-file no-console
import { z } from "zod";
import { testConfig } from "../../lib/config.ts";
import { createHub, type Hub } from "../../lib/hub.ts";
import { registerCapabilities } from "../../lib/capabilities.ts";
import { memoryLogger } from "../../lib/log.ts";
import { defineJob, defineKind } from "../../lib/queue/queue.ts";
import type { Scheduler } from "../../lib/scheduler/mod.ts";

const N = 1000;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const r1 = (n: number) => Math.round(n * 10) / 10;

async function benchHub(kvPath: string, now?: () => number): Promise<Hub> {
  const config = testConfig({ SHLYUZ_KV_PATH: kvPath });
  const kv = await Deno.openKv(kvPath);
  const clock = now ? { now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) } : undefined;
  const core = await createHub(config, { kv, secretKey: config.SHLYUZ_SECRET_KEY!, log: memoryLogger("error"), clock });
  const hub = await registerCapabilities(core);
  const noop = defineKind({
    kind: "bench.noop",
    payload: z.object({}),
    description: "does nothing",
    schedulable: true,
  });
  hub.queue.register(defineJob(noop, { handle: async () => {} }));
  return hub;
}

const ZONES = ["UTC", "Europe/Moscow", "Asia/Vladivostok", "Europe/Berlin", "America/New_York"];

/** Creates N schedules; `cron` may vary by index (and the zone with it). */
async function createMany(s: Scheduler, cron: string | ((i: number) => string), mixedZones = false): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    await s.create(
      "bench",
      s.parse({
        name: `s${i}`,
        cron: typeof cron === "string" ? cron : cron(i),
        timezone: mixedZones ? ZONES[i % ZONES.length] : "UTC",
        action: { type: "internal", job: "bench.noop" },
      }),
    );
  }
  return performance.now() - t0;
}

/** Tick durations over `minutes` simulated minutes; the fires go to a KV whose queue nobody listens to. */
async function tickFigures(kvPath: string, minutes: number, mixed = false) {
  let t = Date.parse("2025-06-02T09:00:30Z");
  const hub = await benchHub(kvPath, () => t);
  try {
    const s = hub.scheduler;
    // Mixed: every minute at second i % 60 in one of five zones (300 distinct cron/zone pairs).
    await createMany(s, mixed ? (i) => `${i % 60} * * * * *` : "* * * * *", mixed);
    const durations: number[] = [];
    let enqueued = 0;
    for (let m = 1; m <= minutes; m++) {
      t = Date.parse("2025-06-02T09:00:00Z") + m * 60_000 + 20;
      const report = await s.tick();
      durations.push(report.durationMs);
      enqueued += report.enqueued;
    }
    return {
      p50: pct(durations, 50),
      p99: pct(durations, 99),
      max: Math.max(...durations),
      perTick: enqueued / minutes,
    };
  } finally {
    await hub.close();
  }
}

/** 1,000 schedules due at the same second, fired by the real listener: planned vs actual start. */
async function firingDelay() {
  const hub = await benchHub(":memory:");
  const listening = hub.queue.listen();
  try {
    const s = hub.scheduler;
    // Every minute at a second far enough ahead that creating 1,000 schedules finishes first.
    const due = Math.ceil((Date.now() + 12_000) / 1000) * 1000;
    const second = new Date(due).getUTCSeconds();
    const createMs = await createMany(s, `${second} * * * * *`);
    if (Date.now() > due - 500) throw new Error("creating the schedules took too long for the planned second");
    const delays: number[] = [];
    const done = new Promise<void>((resolve) => {
      const stop = hub.events.subscribe("bench", (e) => {
        if (e.type !== "schedule.run" || e.data.plannedAt !== new Date(due).toISOString()) return;
        delays.push(Date.parse(String(e.data.startedAt)) - due);
        if (delays.length >= N) {
          stop();
          resolve();
        }
      });
    });
    const timeout = new Promise<void>((r) => setTimeout(r, due - Date.now() + 20_000));
    await Promise.race([done, timeout]);
    const lastMs = Math.max(...delays);
    // Let the 1,000 enqueued jobs drain before the KV closes.
    for (let i = 0; i < 100 && (hub.queue.inFlight > 0 || await hub.queue.backlog() > 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return { createMs, fired: delays.length, p50: pct(delays, 50), p99: pct(delays, 99), max: lastMs };
  } finally {
    await hub.close();
    await listening.catch(() => {});
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const mem = await tickFigures(":memory:", 5);
  const mixed = await tickFigures(":memory:", 5, true);
  const dir = await Deno.makeTempDir({ prefix: "shlyuz-bench-sched-" });
  let file;
  try {
    file = await tickFigures(`${dir}/bench.kv`, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const fire = await firingDelay();
  const figures = {
    schedules: N,
    "tick ms p50 (memory KV)": r1(mem.p50),
    "tick ms p99 (memory KV)": r1(mem.p99),
    "tick ms p99 (file KV)": r1(file.p99),
    "tick ms p50 (mixed crons/zones)": r1(mixed.p50),
    "tick ms p99 (mixed crons/zones)": r1(mixed.p99),
    "fires planned per tick": mem.perTick,
    "create 1,000 schedules ms": Math.round(fire.createMs),
    "fired at the same second": fire.fired,
    "firing delay ms p50": fire.p50,
    "firing delay ms p99": fire.p99,
    "firing delay ms max": fire.max,
  };
  console.log(figures);
  return figures;
}

if (import.meta.main) await run();
