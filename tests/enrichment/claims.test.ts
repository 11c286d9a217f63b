import assert from "node:assert/strict";
import type { Item } from "../../lib/enrichment/processor_types.ts";
import type { Task } from "../../lib/enrichment/task_schema.ts";
import { startHarness } from "../helpers/enrichment.ts";

const ORG = "org1";
const item: Item = { task: { task_id: 5, task_type: "phone", data: "+7 916" }, hash: "h", attempt: 0 };

/** The task store of a harness on `clock`, its claims' lease ≈ 5 s (1 ms per attempt, no retries, 5 s slack). */
async function storeOn(clock: { now(): number; sleep(ms: number): Promise<void> }) {
  const h = await startHarness({ env: { ENRICH_TIMEOUT_MS: "1", ENRICH_RETRIES: "0" }, clock });
  return { h, kv: h.hub.kv, claims: h.svc.processor.store };
}

Deno.test("release() of a lost claim keeps this process's newer claim of the task active", async () => {
  let now = 1_000_000;
  const { h, kv, claims } = await storeOn({ now: () => now, sleep: () => Promise.resolve() });
  try {
    const first = (await claims.claim(ORG, [item])).claimed[0];
    assert.ok(first);
    // Another worker takes the task over after the lease, and its lease ends too, while our first copy still works.
    await kv.set(["task", ORG, 5], {
      status: "processing",
      hash: "h",
      owner: "other",
      leaseUntil: now + 1000,
      at: now,
    });
    now += 6000;
    const second = (await claims.claim(ORG, [item])).claimed[0];
    assert.ok(second, "a second copy takes over the ended lease");
    claims.release(ORG, 5, first.vs); // the first copy finishes (its done commit failed)
    const third = await claims.claim(ORG, [item]);
    assert.equal(third.claimed.length, 0, "the second copy's claim is still being worked on");
    assert.equal(third.busy.length, 1);
    claims.release(ORG, 5, second.vs);
    assert.equal((await claims.claim(ORG, [item])).claimed.length, 1, "an abandoned claim of ours is taken over");
  } finally {
    await h.close();
  }
});

Deno.test("a claim this process is still working on stays busy after its lease ends", async () => {
  let now = 1_000_000;
  const { h, claims } = await storeOn({ now: () => now, sleep: () => Promise.resolve() });
  try {
    const first = (await claims.claim(ORG, [item])).claimed[0];
    now += 6000;
    const again = await claims.claim(ORG, [item]);
    assert.equal(again.claimed.length, 0, "no second upstream call from this process");
    assert.equal(again.busy.length, 1);
    claims.release(ORG, 5, first.vs);
    assert.equal((await claims.claim(ORG, [item])).claimed.length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("the processor gives the upstream call a deadline before its claim's lease ends", async () => {
  const deadlines: Array<number | undefined> = [];
  const h = await startHarness({
    options: {
      enrich: (_o: string, t: Task, call?: { deadline?: number }) => {
        deadlines.push(call?.deadline);
        return Promise.resolve({ source: t.data });
      },
    },
  });
  try {
    const before = Date.now();
    await h.svc.processor.processNow(ORG, { task_id: 1, task_type: "phone", data: "+7 916" });
    await h.svc.processor.processQueued(ORG, [{ task: { task_id: 2, task_type: "phone", data: "+7 916" } }]);
    const st = (await h.hub.kv.get<{ status: string }>(["task", ORG, 2])).value;
    assert.equal(st?.status, "done");
    assert.equal(deadlines.length, 2);
    for (const d of deadlines) {
      assert.ok(d !== undefined && d > before, "a deadline in the future");
    }
  } finally {
    await h.close();
  }
});
