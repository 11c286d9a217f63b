/** Shared set-up for the Scheduler tests: a hub on `:memory:` KV with a fake clock. */
import { z } from "zod";
import type { Clock } from "../../lib/clock.ts";
import { testConfig } from "../../lib/config.ts";
import type { FetchFn } from "../../lib/http/request.ts";
import { createHub, type Hub } from "../../lib/hub.ts";
import { memoryLogger } from "../../lib/log.ts";
import { defineJob } from "../../lib/queue/queue.ts";
import { Scheduler } from "../../lib/scheduler/service.ts";
import type { Resolver } from "../../lib/http/url_guard.ts";

/** A clock that only moves when told to; `sleep` moves it at once and records the wait. */
export class FakeClock implements Clock {
  sleeps: number[] = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
    return Promise.resolve();
  }
  set(iso: string | number) {
    this.t = typeof iso === "string" ? Date.parse(iso) : iso;
  }
}

export interface TestScheduler {
  hub: Hub;
  scheduler: Scheduler;
  clock: FakeClock;
  org: string;
  /** Committed enqueues so far (the queue counts them in the same atomic commit). */
  enqueued(): Promise<number>;
  close(): Promise<void>;
}

/** Builds a hub and a Scheduler; registers a `demo.ping` job so internal actions have a target. */
export async function setup(
  { now = "2025-06-02T09:00:00Z", fetch, resolve, env = {} }: {
    now?: string;
    fetch?: FetchFn;
    resolve?: Resolver;
    env?: Record<string, string>;
  } = {},
): Promise<TestScheduler> {
  const config = testConfig(env);
  const kv = await Deno.openKv(":memory:");
  const clock = new FakeClock(Date.parse(now));
  const hub = await createHub(config, {
    kv,
    secretKey: config.SHLYUZ_SECRET_KEY!,
    clock,
    log: memoryLogger("error"),
    fetch,
  });
  hub.queue.register(defineJob({
    kind: "demo.ping",
    payload: z.object({ to: z.string() }),
    schedulable: true,
    handle: async () => {},
  }));
  const scheduler = new Scheduler({ ...hub, resolve });
  return {
    hub,
    scheduler,
    clock,
    org: "org1",
    enqueued: async () => Number((await kv.get<Deno.KvU64>(["qstat", "enqueued"])).value?.value ?? 0n),
    close: () => hub.close(),
  };
}

/** A local HTTP server that records every call; `respond` decides the answer. */
export function recordingServer(
  respond: (req: Request, n: number) => Response | Promise<Response> = () => new Response("pong"),
) {
  const calls: Array<{ method: string; path: string; headers: Headers; body: string }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    calls.push({ method: req.method, path: new URL(req.url).pathname, headers: req.headers, body: await req.text() });
    return respond(req, calls.length);
  });
  return {
    calls,
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
