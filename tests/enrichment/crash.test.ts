/**
 * Crash test: the hub runs as a real process on a file-backed KV; 2,000 tasks
 * are queued, the process is killed with SIGKILL mid-way and started again.
 * Afterwards there are exactly 2,000 rows and 2,000 results, each once.
 */
import assert from "node:assert/strict";
import { startDadataFake } from "../fakes/dadata.ts";
import { hubProcessEnv } from "../helpers/enrichment.ts";
import { freePort, startMain } from "../helpers/main_process.ts";

const TOKEN = "shz_crash_test_owner_token_0123456789";
const api = async (base: string, path: string, init: RequestInit = {}) => {
  const res = await fetch(base + path, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
  });
  return { status: res.status, body: await res.json() };
};

async function readAll<T>(base: string, path: (cursor?: string) => string, key: "after" | "cursor") {
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const { body } = await api(base, path(cursor));
    out.push(...body.items);
    if (!body.items.length || (key === "cursor" && !body.cursor)) return out;
    cursor = body.cursor;
    if (key === "after" && body.items.length < 1000) return out;
  }
}

Deno.test({
  name: "SIGKILL mid-way through 2,000 queued tasks loses nothing and doubles nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dadata = await startDadataFake({ faults: { latencyMs: 3 } });
    const dir = await Deno.makeTempDir({ prefix: "shlyuz_crash_" });
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = hubProcessEnv({ dir, port, token: TOKEN, dadataUrl: dadata.url, backoffMs: "200,500,1000,2000" });
    let hub = await startMain(env, { url: base });
    try {
      for (let b = 0; b < 2; b++) {
        const tasks = Array.from({ length: 1000 }, (_, i) => ({
          task_id: b * 1000 + i,
          task_type: i % 2 ? "phone" : "email",
          data: i % 2 ? `+7 916 ${String(b * 1000 + i).padStart(7, "0")}` : `user${b * 1000 + i}@mail.ru`,
        }));
        const r = await api(base, "/api/v1/tasks/batch", { method: "POST", body: JSON.stringify({ tasks }) });
        assert.equal(r.status, 202);
      }
      const end = Date.now() + 20_000;
      while (dadata.state.calls < 600 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      await hub.stop("SIGKILL");
      const before = dadata.state.calls;
      assert.ok(before < 2000, `killed mid-way (${before} DaData calls so far)`);

      hub = await startMain(env, { url: base });
      const deadline = Date.now() + 90_000;
      let results: Array<{ task_id: number; id: number; cursor: string }> = [];
      while (Date.now() < deadline) {
        results = await readAll(base, (c) => `/api/v1/results?limit=1000${c ? `&after=${c}` : ""}`, "after");
        if (results.length >= 2000) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      // Give stragglers a moment to (wrongly) add more, then count.
      await new Promise((r) => setTimeout(r, 500));
      results = await readAll(base, (c) => `/api/v1/results?limit=1000${c ? `&after=${c}` : ""}`, "after");
      const rows = await readAll<{ id: number; task_id: number }>(
        base,
        (c) => `/api/v1/rows?limit=500${c ? `&cursor=${c}` : ""}`,
        "cursor",
      );
      assert.equal(results.length, 2000, `results: ${results.length}; stderr: ${hub.stderr().slice(-2000)}`);
      assert.equal(new Set(results.map((r) => r.task_id)).size, 2000);
      assert.equal(rows.length, 2000);
      assert.equal(new Set(rows.map((r) => r.task_id)).size, 2000);
      assert.equal(new Set(rows.map((r) => r.id)).size, 2000);
      const byTask = new Map(rows.map((r) => [r.task_id, r.id]));
      for (const r of results) assert.equal(byTask.get(r.task_id), r.id);
      const dead = await api(base, "/api/v1/dead-letters?kind=task.process");
      assert.equal(dead.body.items.length, 0);
    } finally {
      await hub.stop("SIGTERM");
      await dadata.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
