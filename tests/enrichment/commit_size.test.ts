import assert from "node:assert/strict";
import { TaskFailedError } from "../../lib/enrichment/mod.ts";
import type { Task } from "../../lib/enrichment/task_schema.ts";
import { allResults, startHarness, waitFor } from "../helpers/enrichment.ts";

const ORG = "org1";

Deno.test("a queued batch of 100 long Russian answers is stored in several commits, each answer once", async () => {
  const calls = new Map<number, number>();
  const enrich = (_o: string, t: Task) => {
    calls.set(t.task_id, (calls.get(t.task_id) ?? 0) + 1);
    return Promise.resolve("Ответ: " + "ж".repeat(4000));
  };
  const h = await startHarness({ options: { enrich } });
  try {
    const tasks = Array.from({ length: 100 }, (_, i) => ({ task_id: i + 1, task_type: "gpt", data: "вопрос " + i }));
    assert.equal(await h.svc.processor.submit(ORG, tasks, "batch"), 1);
    await waitFor(async () => (await allResults(h.svc, ORG)).length === 100, 15_000, "100 results");
    assert.equal([...calls.values()].reduce((a, b) => a + b, 0), 100);
    assert.equal((await h.hub.queue.dead.list(ORG)).items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("synchronous requests grouped into one done commit all succeed when their answers are long", async () => {
  const enrich = async () => {
    await new Promise((r) => setTimeout(r, 20));
    return "ж".repeat(6500);
  };
  const h = await startHarness({ options: { enrich } });
  try {
    const res = await Promise.allSettled(
      Array.from(
        { length: 120 },
        (_, i) => h.svc.processor.processNow(ORG, { task_id: i + 1, task_type: "gpt", data: "вопрос " + i }),
      ),
    );
    const errors = res.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(errors, []);
    assert.equal((await allResults(h.svc, ORG)).length, 120);
  } finally {
    await h.close();
  }
});

Deno.test("an answer too large to store fails its task with a readable reason and spares the others", async () => {
  const enrich = (_o: string, t: Task) => Promise.resolve(t.task_id === 2 ? "x".repeat(70_000) : "short");
  const h = await startHarness({ options: { enrich } });
  try {
    const tasks = [1, 2, 3].map((id) => ({ task_id: id, task_type: "gpt" as const, data: "q" + id }));
    const out = await Promise.allSettled(tasks.map((t) => h.svc.processor.processNow(ORG, t)));
    assert.equal(out[0].status, "fulfilled");
    assert.equal(out[2].status, "fulfilled");
    assert.equal(out[1].status, "rejected");
    const err = (out[1] as PromiseRejectedResult).reason;
    assert.ok(err instanceof TaskFailedError);
    assert.match(err.message, /the answer is too large to store: \d+ bytes/);
    assert.equal((await h.hub.kv.get<{ status: string }>(["task", ORG, 2])).value?.status, "failed");
  } finally {
    await h.close();
  }
});

Deno.test("a queued answer larger than a whole commit is dead-lettered and its neighbours are done", async () => {
  const enrich = (_o: string, t: Task) => Promise.resolve(t.task_id === 12 ? "y".repeat(700_000) : "ok");
  const h = await startHarness({ options: { enrich } });
  try {
    await h.svc.processor.submit(ORG, [11, 12, 13].map((id) => ({ task_id: id, task_type: "gpt", data: "q" })), "q");
    await waitFor(async () => (await h.hub.queue.dead.list(ORG)).items.length === 1, 10_000, "dead letter");
    await waitFor(async () => (await allResults(h.svc, ORG)).length === 2, 10_000, "two results");
    assert.match((await h.hub.queue.dead.list(ORG)).items[0].reason, /too large to store: \d+ bytes/);
  } finally {
    await h.close();
  }
});

Deno.test("submit() enqueues 1,000 tasks of 900 characters (and long Russian ones) in commits KV accepts", async () => {
  const h = await startHarness({ options: { enrich: () => Promise.resolve("ok") } });
  try {
    const ascii = Array.from({ length: 1000 }, (_, i) => ({ task_id: i + 1, task_type: "gpt", data: "q".repeat(900) }));
    assert.ok(await h.svc.processor.submit(ORG, ascii, "batch") > 1);
    const russian = Array.from(
      { length: 300 },
      (_, i) => ({ task_id: 5000 + i, task_type: "gpt", data: "ж".repeat(2000) }),
    );
    assert.ok(await h.svc.processor.submit(ORG, russian, "batch") > 1);
    await waitFor(async () => (await allResults(h.svc, ORG)).length === 1300, 30_000, "1300 results");
  } finally {
    await h.close();
  }
});
