import assert from "node:assert/strict";
import { Claims } from "../../lib/enrichment/claims.ts";
import type { Item } from "../../lib/enrichment/processor_types.ts";

const ORG = "org1";
const item: Item = { task: { task_id: 5, task_type: "phone", data: "+7 916" }, hash: "h", attempt: 0 };

Deno.test("release() of a lost claim keeps this process's newer claim of the task active", async () => {
  const kv = await Deno.openKv(":memory:");
  let now = 1_000_000;
  const clock = { now: () => now, sleep: () => Promise.resolve() };
  try {
    const claims = new Claims({ kv, clock, leaseMs: 5000 });
    const first = (await claims.claim(ORG, [item])).claimed[0];
    assert.ok(first);
    now += 6000; // the first copy's lease ends while it still works
    const second = (await claims.claim(ORG, [item])).claimed[0];
    assert.ok(second, "a second copy takes over the ended lease");
    claims.release(ORG, 5, first.vs); // the first copy finishes (its done commit failed)
    const third = await claims.claim(ORG, [item]);
    assert.equal(third.claimed.length, 0, "the second copy's claim is still being worked on");
    assert.equal(third.busy.length, 1);
    claims.release(ORG, 5, second.vs);
    assert.equal((await claims.claim(ORG, [item])).claimed.length, 1, "an abandoned claim of ours is taken over");
  } finally {
    kv.close();
  }
});
