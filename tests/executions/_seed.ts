/**
 * Puts one execution of every area into a test hub through the real code
 * paths: a schedule whose HTTP target answers 500 (a failed run), an invalid
 * enrichment task (a dead letter of task.process), a failed 1C request in the
 * intake log, and a done enrichment result.
 */
import { eventually, startTestHub, type TestHub } from "../helpers/hub.ts";
import { appendLog } from "../../lib/onec/store.ts";
import { newId } from "../../lib/ids.ts";
import { resultKey } from "../../lib/enrichment/task_state.ts";

/** Env a hub needs for `failingTarget`: the loopback range allowed by the operator. */
export const SEED_ENV = { SHLYUZ_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8" };

/** A local endpoint that always answers 500; close it after the test. */
export function failingTarget(): { url: string; close(): Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("upstream is down", { status: 500 }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}/hook`, close: () => server.shutdown() };
}

/**
 * Runs `fn` on a test hub seeded with one execution of every area (`seed`),
 * then closes the hub and the failing target. `env` adds to SEED_ENV.
 */
export async function withSeededHub(
  fn: (t: TestHub, s: Seeded) => Promise<void>,
  { env = {} }: { env?: Record<string, string> } = {},
): Promise<void> {
  const target = failingTarget();
  const t = await startTestHub({ env: { ...SEED_ENV, ...env } });
  try {
    await fn(t, await seed(t, target.url));
  } finally {
    await t.close();
    await target.close();
  }
}

export interface Seeded {
  scheduleId: string;
  runId: string;
  deadId: string;
  onecId: string;
  onecLogId: string;
  resultCursor: string;
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Waits until the run `runId` of `scheduleId` has finished and returns it. */
export async function finishedRun(t: TestHub, runId: string) {
  return await eventually(async () => {
    const run = await t.hub.scheduler!.runs.get(t.org, runId);
    return run && run.outcome !== "queued" && run.outcome !== "running" ? run : null;
  }, { timeoutMs: 10_000 });
}

export async function seed(t: TestHub, target: string): Promise<Seeded> {
  await json(await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } }));
  const schedule = await json<{ id: string }>(
    await t.api("/api/v1/schedules", {
      method: "POST",
      json: {
        name: "Выгрузка остатков",
        cron: "0 3 * * *",
        timezone: "Europe/Moscow",
        action: { type: "http", method: "POST", url: target },
      },
    }),
  );
  const run = await json<{ id: string }>(await t.api(`/api/v1/schedules/${schedule.id}/run`, { method: "POST" }));
  await finishedRun(t, run.id);
  // A task that cannot be valid: dead-lettered as the bridge does with a bad message.
  await t.hub.enrichment!.processor.deadLetterInvalid(
    t.org,
    { task_id: 7701, task_type: "fax", data: "x" },
    "task_type: expected phone, email or gpt",
    "test",
  );
  const dead = await t.hub.queue.dead.list(t.org, { kind: "task.process" });
  const now = Date.now();
  const log = await appendLog(t.hub.kv, t.org, {
    at: new Date(now).toISOString(),
    requestId: "req-seed-1",
    outcome: "failed",
    durationMs: 42,
    bitrixCalls: 3,
    tasks: [{
      onecId: "ЗК-000042",
      title: "Расчёт фермы",
      calculation: "К-17",
      op: "failed",
      error: "Cannot create Bitrix24 task: the webhook URL answered 401",
    }],
  }, now);
  const cursor = newId();
  await t.hub.kv.set(resultKey(t.org, cursor), {
    cursor,
    task_id: 7702,
    id: 1,
    task_type: "phone",
    at: new Date().toISOString(),
  });
  return {
    scheduleId: schedule.id,
    runId: run.id,
    deadId: dead.items[0].id,
    onecId: "ЗК-000042",
    onecLogId: log.id,
    resultCursor: cursor,
  };
}
