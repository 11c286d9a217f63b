/**
 * A fake Bitrix24 portal for tests, benchmarks and the demo, faithful to
 * /work/shared/reference/bitrix24.md: webhook routes with 401 NO_AUTH_FOUND,
 * JSON and form-encoded params, pages of 50 with `total`/`next`, string ids,
 * UPPER_CASE task fields in and camelCase out, `batch` (≤ 50 commands, PHP
 * `[]` for empty maps), the per-portal leaky bucket (2/s, burst 50) answering
 * 503 QUERY_LIMIT_EXCEEDED "Too many requests", and 429 OPERATION_TIME_LIMIT.
 *
 * Guesses where the reference is silent are marked GUESS.
 */
import { Hono } from "hono";
import { fromQuery } from "../../lib/bitrix/batch.ts";
import { FakeError, type FakeState, handlers, seedSample } from "./bitrix24_methods.ts";

export type { FakeState, FakeTask, FakeUser } from "./bitrix24_methods.ts";
export { seedSample } from "./bitrix24_methods.ts";

/** The Bitrix leaky bucket: +1 per accepted request, drains `ratePerSec`, rejects above `burst`. */
export class LeakyBucket {
  #level = 0;
  #at: number;
  maxLevel = 0;
  constructor(readonly ratePerSec: number, readonly burst: number, readonly now: () => number) {
    this.#at = now();
  }
  /** Counts one request; false when it must be rejected. */
  offer(): boolean {
    const now = this.now();
    this.#level = Math.max(0, this.#level - ((now - this.#at) / 1000) * this.ratePerSec);
    this.#at = now;
    // GUESS: rejected requests do not add to the counter. A tiny epsilon absorbs float error.
    if (this.#level + 1 > this.burst + 1e-6) return false;
    this.#level += 1;
    this.maxLevel = Math.max(this.maxLevel, this.#level);
    return true;
  }
  get level(): number {
    return this.#level;
  }
}

export interface Bitrix24FakeOptions {
  /** Webhook path segments; requests with another code get 401 NO_AUTH_FOUND. */
  userId?: number;
  code?: string;
  /** Leaky bucket limits; false disables it. Default 2/s, burst 50. */
  rateLimit?: { ratePerSec: number; burst: number } | false;
  /** Clock for the bucket, created dates and "today". Default Date.now. */
  now?: () => number;
  /** Time zone of the portal (for "today"). Default Europe/Moscow. */
  timeZone?: string;
  /** Fill in the sample company (Производство and its sections, the project). Default true. */
  seed?: boolean;
  port?: number;
}

export interface Bitrix24Fake {
  /** Base URL of the server, e.g. http://127.0.0.1:1234 */
  url: string;
  /** The inbound-webhook URL to configure: `${url}/rest/1/code/` */
  webhookUrl: string;
  state: FakeState;
  bucket: LeakyBucket | null;
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1 (port 0 unless given). */
export function startBitrix24Fake(opts: Bitrix24FakeOptions = {}): Promise<Bitrix24Fake> {
  const { userId = 1, code = "testcode", rateLimit = { ratePerSec: 2, burst: 50 }, seed = true } = opts;
  const now = opts.now ?? Date.now;
  const state = createState(now, opts.timeZone ?? "Europe/Moscow");
  if (seed) seedSample(state);
  const bucket = rateLimit ? new LeakyBucket(rateLimit.ratePerSec, rateLimit.burst, now) : null;
  const app = createFakeApp(state, { userId, code, bucket });
  const server = Deno.serve({ hostname: "127.0.0.1", port: opts.port ?? 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return Promise.resolve({
    url,
    webhookUrl: `${url}/rest/${userId}/${code}/`,
    state,
    bucket,
    close: () => server.shutdown(),
  });
}

function createState(now: () => number, timeZone: string): FakeState {
  return {
    now,
    timeZone,
    departments: [],
    users: [],
    groups: [],
    tasks: [],
    disk: [],
    storages: [],
    absences: [],
    timeman: new Map(),
    calendarSettings: {
      work_time_start: "9",
      work_time_end: "18",
      week_holidays: ["SA", "SU"],
      year_holidays: "1.01,2.01,3.01,4.01,5.01,6.01,7.01,8.01,23.02,8.03,1.05,9.05,12.06,4.11",
      year_workdays: "",
      week_start: "MO",
    },
    calls: [],
    rejected: 0,
    faults: [],
    operationLimited: new Set(),
    latencyMs: 0,
    nextId: { task: 1000, disk: 5000, attachment: 9000 },
  };
}

const NO_BATCH = new Set(["batch", "disk.folder.uploadfile", "disk.storage.uploadfile"]);

/** The Hono app of the fake (exported for tests that want `app.request`). */
export function createFakeApp(
  state: FakeState,
  { userId, code, bucket }: { userId: number; code: string; bucket: LeakyBucket | null },
): Hono {
  const app = new Hono();
  const time = () => {
    const t = state.now() / 1000;
    const iso = new Date(state.now()).toISOString().replace(/\.\d+Z$/, "+00:00");
    return { start: t, finish: t, duration: 0, processing: 0, date_start: iso, date_finish: iso, operating: 0 };
  };
  const fail = (status: number, error: string, description: string) =>
    new Response(JSON.stringify({ error, error_description: description }), {
      status,
      headers: { "content-type": "application/json" },
    });

  app.all("/rest/:uid/:code/:method", async (c) => {
    const method = c.req.param("method").replace(/\.json$/i, "").toLowerCase();
    if (c.req.param("uid") !== String(userId) || c.req.param("code") !== code) {
      state.calls.push({ method, at: state.now(), status: 401 });
      return fail(401, "NO_AUTH_FOUND", "Wrong authorization data");
    }
    if (bucket && !bucket.offer()) {
      state.rejected++;
      state.calls.push({ method, at: state.now(), status: 503 });
      return fail(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
    }
    if (state.latencyMs) await new Promise((r) => setTimeout(r, state.latencyMs));
    const params = await readParams(c.req.raw);
    const fault = takeFault(state, method);
    if (fault && !fault.afterCommit) {
      state.calls.push({ method, at: state.now(), status: fault.status });
      return fail(fault.status, fault.error, fault.description);
    }
    if (state.operationLimited.has(method)) {
      state.calls.push({ method, at: state.now(), status: 429 });
      return fail(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.");
    }
    state.calls.push({ method, at: state.now(), status: 200 });
    try {
      const out: { result: unknown; total?: number; next?: number } = method === "batch"
        ? runBatch(state, params)
        : run(state, method, params);
      if (fault?.afterCommit) {
        if (fault.visibleAfterMs && method === "tasks.task.add") {
          // Bitrix is still finishing the request: the task shows up later.
          const id = Number((out.result as { task?: { id?: string } }).task?.id);
          const t = state.tasks.find((x) => x.id === id);
          if (t) t.visibleFrom = state.now() + fault.visibleAfterMs;
        }
        // The method ran, but the answer is lost on the way (a proxy timeout): not JSON, 504.
        return new Response("<html>504 Gateway Time-out</html>", { status: 504 });
      }
      return c.json({
        result: out.result,
        ...(out.total !== undefined ? { total: out.total } : {}),
        ...(out.next !== undefined ? { next: out.next } : {}),
        time: time(),
      });
    } catch (e) {
      if (e instanceof FakeError) return fail(e.status, e.code, e.description);
      return fail(500, "INTERNAL_SERVER_ERROR", "Internal server error");
    }
  });
  app.all("*", (c) => c.json({ error: "ERROR_METHOD_NOT_FOUND", error_description: "Method not found!" }, 404));
  return app;
}

function takeFault(state: FakeState, method: string) {
  const i = state.faults.findIndex((f) => f.method.toLowerCase() === method && f.times > 0);
  if (i < 0) return undefined;
  const f = state.faults[i];
  f.times--;
  return f;
}

async function readParams(req: Request): Promise<Record<string, unknown>> {
  const url = new URL(req.url);
  const params: Record<string, unknown> = url.search ? fromQuery(url.search.slice(1)) : {};
  if (req.method === "GET") return params;
  const type = req.headers.get("content-type") ?? "";
  const text = await req.text();
  if (!text) return params;
  if (type.includes("json")) return { ...params, ...JSON.parse(text) };
  return { ...params, ...fromQuery(text) };
}

function run(state: FakeState, method: string, params: Record<string, unknown>) {
  const h = handlers[method];
  if (!h) throw new FakeError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
  return h(state, params);
}

function runBatch(
  state: FakeState,
  params: Record<string, unknown>,
): { result: unknown; total?: number; next?: number } {
  const cmd = (params.cmd ?? {}) as Record<string, string>;
  const keys = Object.keys(cmd);
  if (keys.length > 50) throw new FakeError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded");
  const halt = params.halt === true || params.halt === 1 || params.halt === "1" || params.halt === "true";
  const result: Record<string, unknown> = {};
  const errors: Record<string, unknown> = {};
  const totals: Record<string, number> = {};
  const nexts: Record<string, number> = {};
  const times: Record<string, unknown> = {};
  for (const key of keys) {
    const [m, q = ""] = cmd[key].split(/\?(.*)/s);
    const method = m.replace(/\.json$/i, "").toLowerCase();
    try {
      if (NO_BATCH.has(method)) {
        throw new FakeError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage");
      }
      if (state.operationLimited.has(method)) {
        throw new FakeError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.");
      }
      const out = run(state, method, fromQuery(q));
      result[key] = out.result;
      if (out.total !== undefined) totals[key] = out.total;
      if (out.next !== undefined) nexts[key] = out.next;
      times[key] = { start: 0, finish: 0, duration: 0, processing: 0 };
    } catch (e) {
      const err = e instanceof FakeError ? e : new FakeError(500, "INTERNAL_SERVER_ERROR", "Internal server error");
      errors[key] = { error: err.code, error_description: err.description };
      if (halt) break;
    }
  }
  // PHP serialises empty maps as [] (reference §1.11).
  const php = (o: Record<string, unknown>) => (Object.keys(o).length ? o : []);
  return {
    result: {
      result: php(result),
      result_error: php(errors),
      result_total: php(totals),
      result_next: php(nexts),
      result_time: php(times),
    },
  };
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 8081);
  const fake = await startBitrix24Fake({ port });
  // deno-lint-ignore no-console
  console.log(`Bitrix24 fake on ${fake.url}; webhook ${fake.webhookUrl}`);
}
