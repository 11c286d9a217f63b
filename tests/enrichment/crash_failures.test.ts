/**
 * Crash test with failures: the hub runs as a real process on a file-backed
 * KV, DaData fails 80 % of the calls, and the process is killed with SIGKILL
 * while tasks are being dead-lettered, then started again. Afterwards every
 * task ended exactly once: done + failed = tasks, no task both stored and
 * dead-lettered, none dead-lettered twice.
 */
import assert from "node:assert/strict";
import { startDadataFake } from "../fakes/dadata.ts";

const TOKEN = "shz_crash_failures_owner_token_012345";
const ROOT = new URL("../../", import.meta.url).pathname;
const N = 1000;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function startHub(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = child.stderr.pipeTo(
    new WritableStream({ write: (c) => void (stderr += new TextDecoder().decode(c)) }),
  ).catch(() => {});
  return { child, reading, stderr: () => stderr };
}

async function get(base: string, path: string) {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  return await res.json();
}

async function waitUp(base: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${base}/ping/`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the hub did not start");
}

async function settled(base: string): Promise<{ done: number; failed: number }> {
  const s = await get(base, "/api/v1/enrichment/status");
  const e = s.stats?.email ?? { done: 0, failed: 0 };
  return { done: e.done, failed: e.failed };
}

async function deadTaskIds(base: string): Promise<number[]> {
  const out: number[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await get(
      base,
      `/api/v1/dead-letters?kind=task.process&limit=500${cursor ? `&cursor=${cursor}` : ""}`,
    );
    for (const d of page.items) out.push(d.envelope.payload.tasks[0].task.task_id);
    if (!page.cursor || page.items.length === 0) return out;
    cursor = page.cursor;
  }
}

Deno.test({
  name:
    "SIGKILL while tasks fail: every task ends once — done + failed = tasks, no second dead letter, no row for a failed one",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dadata = await startDadataFake({ faults: { latencyMs: 2, failRate: 0.8 } });
    const dir = await Deno.makeTempDir({ prefix: "shlyuz_crash_f_" });
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      SHLYUZ_KV_PATH: `${dir}/hub.kv`,
      SHLYUZ_DATA_DIR: dir,
      PORT: String(port),
      SHLYUZ_ADMIN_TOKEN: TOKEN,
      SHLYUZ_SECRET_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(4))),
      SHLYUZ_DISABLE_CRON: "1",
      SHLYUZ_LOG_LEVEL: "error",
      SHLYUZ_QUEUE_BACKOFF_MS: "50,100,200,400",
      DADATA_BASE_URL: dadata.url,
      DADATA_API_KEY: "test-dadata-key",
      DADATA_SECRET_KEY: "test-dadata-secret",
      ENRICH_TIMEOUT_MS: "1000",
      ENRICH_RETRIES: "1",
      ENRICH_CONCURRENCY: "16",
    };
    const denoDir = Deno.env.get("DENO_DIR");
    if (denoDir) env.DENO_DIR = denoDir;
    let hub = startHub(env);
    try {
      await waitUp(base);
      const tasks = Array.from({ length: N }, (_, i) => ({ task_id: i, task_type: "email", data: `u${i}@mail.ru` }));
      const r = await fetch(`${base}/api/v1/tasks/batch`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ tasks }),
      });
      assert.equal(r.status, 202, await r.text());
      // Kill while failures are being recorded and retry rounds are in flight.
      const end = Date.now() + 30_000;
      while ((await settled(base)).failed < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      hub.child.kill("SIGKILL");
      await hub.child.status;
      await hub.reading;
      const before = await (async () => {
        // Read the KV the dead process left, through a new process.
        hub = startHub(env);
        await waitUp(base);
        return await settled(base);
      })();
      assert.ok(before.failed >= 20 && before.done + before.failed < N, `killed mid-way: ${JSON.stringify(before)}`);
      const deadline = Date.now() + 60_000;
      let s = before;
      while (Date.now() < deadline) {
        s = await settled(base);
        if (s.done + s.failed >= N) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // The recovered copies run at once; give stragglers a moment to (wrongly) add more, then count.
      await new Promise((r) => setTimeout(r, 1500));
      s = await settled(base);
      assert.equal(s.done + s.failed, N, `done + failed: ${JSON.stringify(s)}; ${hub.stderr().slice(-1500)}`);
      const dead = await deadTaskIds(base);
      assert.equal(dead.length, s.failed, "one dead letter per failed task");
      assert.equal(new Set(dead).size, dead.length, "no task dead-lettered twice");
      const rows: number[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await get(base, `/api/v1/rows?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
        rows.push(...page.items.map((x: { task_id: number }) => x.task_id));
        if (!page.cursor) break;
        cursor = page.cursor;
      }
      assert.equal(rows.length, s.done);
      assert.equal(new Set(rows).size, rows.length);
      const stored = new Set(rows);
      assert.deepEqual(dead.filter((id) => stored.has(id)), [], "no task both stored and dead-lettered");
    } finally {
      try {
        hub.child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await hub.child.status;
      await hub.reading;
      await dadata.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
