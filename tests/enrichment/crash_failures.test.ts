/**
 * Crash test with failures: the hub runs as a real process on a file-backed
 * KV, DaData fails 80 % of the calls, and the process is killed with SIGKILL
 * while tasks are being dead-lettered, then started again. Afterwards every
 * task ended exactly once: done + failed = tasks, no task both stored and
 * dead-lettered, none dead-lettered twice.
 */
import assert from "node:assert/strict";
import { startDadataFake } from "../fakes/dadata.ts";
import { hubProcessEnv } from "../helpers/enrichment.ts";
import { freePort, startMain } from "../helpers/main_process.ts";

const TOKEN = "shz_crash_failures_owner_token_012345";
const N = 1000;

async function get(base: string, path: string) {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  return await res.json();
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
    const env = hubProcessEnv({ dir, port, token: TOKEN, dadataUrl: dadata.url, backoffMs: "50,100,200,400" });
    let hub = await startMain(env, { url: base });
    try {
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
      await hub.stop("SIGKILL");
      const before = await (async () => {
        // Read the KV the dead process left, through a new process.
        hub = await startMain(env, { url: base });
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
      await hub.stop("SIGTERM");
      await dadata.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
