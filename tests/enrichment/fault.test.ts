/**
 * Fault test: 30 % of DaData calls fail (5xx) or time out. Every task must
 * end done or dead-lettered with a reason, with exactly one row per done
 * task and no row for a dead one.
 */
import assert from "node:assert/strict";
import { startDadataFake } from "../fakes/dadata.ts";
import { readStates } from "../../lib/enrichment/task_state.ts";
import { allResults, startHarness, waitFor } from "../helpers/enrichment.ts";

Deno.test("with 30% of DaData calls failing or timing out every task ends done or dead-lettered, without duplicates", async () => {
  const dadata = await startDadataFake({ faults: { failRate: 0.15, hangRate: 0.15, hangMs: 2000 } });
  const h = await startHarness({
    env: {
      DADATA_BASE_URL: dadata.url,
      DADATA_API_KEY: "test-dadata-key",
      DADATA_SECRET_KEY: "test-dadata-secret",
      ENRICH_TIMEOUT_MS: "150",
      ENRICH_RETRIES: "1",
    },
  });
  const ORG = "org-fault";
  const N = 600;
  try {
    const tasks = Array.from({ length: N }, (_, i) => ({
      task_id: i,
      task_type: i % 2 ? "phone" : "email",
      data: i % 2 ? `+7 916 ${String(i).padStart(7, "0")}` : `user${i}@mail.ru`,
    }));
    await h.svc.processor.submit(ORG, tasks, "batch");
    const ids = tasks.map((t) => t.task_id);
    let states = await readStates(h.hub.kv, ORG, ids);
    await waitFor(
      async () => {
        states = await readStates(h.hub.kv, ORG, ids);
        return [...states.values()].every((e) => e.value?.status === "done" || e.value?.status === "failed");
      },
      30_000,
      "every task settled",
    );
    await waitFor(() => h.hub.queue.backlog().then((n) => n === 0), 10_000, "drain");
    const done = [...states.values()].filter((e) => e.value?.status === "done");
    const failed = [...states.values()].filter((e) => e.value?.status === "failed");
    assert.equal(done.length + failed.length, N);
    const dead = await h.hub.queue.dead.list(ORG, { kind: "task.process", limit: 1000 });
    assert.equal(dead.items.length, failed.length);
    for (const d of dead.items) assert.match(d.reason, /^DaData (failed with HTTP 50\d|did not answer within 150 ms)/);
    const results = await allResults(h.svc, ORG);
    assert.equal(results.length, done.length);
    assert.equal(new Set(results.map((r) => r.task_id)).size, done.length);
    const rows = [];
    let cursor: string | undefined;
    do {
      const page = await h.svc.sink.list(ORG, { limit: 500, cursor });
      rows.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    assert.equal(rows.length, done.length);
    assert.equal(new Set(rows.map((r) => r.task_id)).size, done.length);
    const stats = await h.svc.processor.stats(ORG);
    assert.equal((stats.phone?.done ?? 0) + (stats.email?.done ?? 0), done.length);
    assert.ok(dadata.state.calls > N, "faults forced retries");
  } finally {
    await h.close();
    await dadata.close();
  }
});
