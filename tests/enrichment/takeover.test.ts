import assert from "node:assert/strict";
import { UpstreamApiError, UpstreamHttpError } from "../../lib/errors.ts";
import { TaskConflictError } from "../../lib/enrichment/mod.ts";
import type { Task } from "../../lib/enrichment/task_schema.ts";
import { startHarness } from "../helpers/enrichment.ts";

const ORG = "org1";

/** Task 1's claim is taken over by another worker while it runs; both tasks then fail (transiently or not). */
function takeoverEnrich(kv: () => Deno.Kv, error: () => Error) {
  return async (_o: string, t: Task) => {
    if (t.task_id === 1) {
      await kv().set(["task", ORG, 1], {
        status: "processing",
        hash: "other-worker",
        owner: "other",
        leaseUntil: Date.now() + 60_000,
        at: Date.now(),
      });
    }
    throw error();
  };
}

Deno.test("retry() still schedules the other tasks of a group when one claim was taken over", async () => {
  const ref: { kv?: Deno.Kv } = {};
  const enrich = takeoverEnrich(
    () => ref.kv!,
    () => new UpstreamHttpError("DaData failed with HTTP 503", { service: "DaData", status: 503 }),
  );
  const h = await startHarness({ options: { enrich, roundDelaysMs: [60_000] } });
  ref.kv = h.hub.kv;
  try {
    const tasks = [1, 2].map((id) => ({ task: { task_id: id, task_type: "phone", data: "+7 916 " + id } }));
    await h.svc.processor.processQueued(ORG, tasks);
    const st = (await h.hub.kv.get<{ status: string; attempt: number }>(["task", ORG, 2])).value;
    assert.equal(st?.status, "retrying");
    assert.equal((await h.hub.kv.get<{ owner: string }>(["task", ORG, 1])).value?.owner, "other");
  } finally {
    await h.close();
  }
});

Deno.test("fail() still records the other tasks of a chunk when one claim was taken over", async () => {
  const ref: { kv?: Deno.Kv } = {};
  const enrich = takeoverEnrich(
    () => ref.kv!,
    () => new UpstreamApiError("DaData rejected the request", { service: "DaData", code: "forbidden" }),
  );
  const h = await startHarness({ options: { enrich } });
  ref.kv = h.hub.kv;
  try {
    const tasks = [1, 2].map((id) => ({ task: { task_id: id, task_type: "phone", data: "+7 916 " + id } }));
    await h.svc.processor.processQueued(ORG, tasks);
    assert.equal((await h.hub.kv.get<{ status: string }>(["task", ORG, 2])).value?.status, "failed");
    const dead = (await h.hub.queue.dead.list(ORG)).items;
    assert.equal(dead.length, 1);
    assert.match(dead[0].reason, /rejected/);
  } finally {
    await h.close();
  }
});

Deno.test("a task retrying or with an ended lease is a conflict for other content and claimable by the same", async () => {
  let failFirst = true;
  const enrich = (_o: string, t: Task) => {
    if (t.data === "A" && failFirst) {
      failFirst = false;
      return Promise.reject(new UpstreamHttpError("DaData failed with HTTP 503", { service: "DaData", status: 503 }));
    }
    return Promise.resolve({ source: t.data });
  };
  const h = await startHarness({ options: { enrich, roundDelaysMs: [60_000] } });
  try {
    await h.svc.processor.processQueued(ORG, [{ task: { task_id: 9, task_type: "phone", data: "A" } }]);
    assert.equal((await h.hub.kv.get<{ status: string }>(["task", ORG, 9])).value?.status, "retrying");
    await assert.rejects(
      h.svc.processor.processNow(ORG, { task_id: 9, task_type: "phone", data: "B" }),
      TaskConflictError,
    );
    // An ended lease of other content: still a conflict.
    await h.hub.kv.set(["task", ORG, 10], { status: "processing", hash: "other", owner: "x", leaseUntil: 0, at: 0 });
    await assert.rejects(
      h.svc.processor.processNow(ORG, { task_id: 10, task_type: "phone", data: "B" }),
      TaskConflictError,
    );
    // The same content takes over.
    const r = await h.svc.processor.processNow(ORG, { task_id: 9, task_type: "phone", data: "A" });
    assert.equal(r.task_id, 9);
  } finally {
    await h.close();
  }
});
