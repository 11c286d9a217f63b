import assert from "node:assert/strict";
import { GroupCommit } from "../../lib/enrichment/group_commit.ts";

Deno.test("GroupCommit writes callers of one tick together, keeps equal keys apart and caps the batch", async () => {
  const batches: string[][] = [];
  const g = new GroupCommit<string, string>({
    max: 3,
    keyOf: (s) => s[0],
    flush: (group, items) => {
      batches.push(items.map((i) => `${group}:${i}`));
      return Promise.resolve(items.map((i) => i.toUpperCase()));
    },
  });
  const answers = await Promise.all(
    ["a1", "b1", "a2", "c1", "d1", "x1"].map((s, i) => g.submit(i < 5 ? "o1" : "o2", s)),
  );
  assert.deepEqual(answers, ["A1", "B1", "A2", "C1", "D1", "X1"]);
  assert.deepEqual(batches, [["o1:a1", "o1:b1", "o1:c1"], ["o2:x1"], ["o1:a2", "o1:d1"]]);
});

Deno.test("GroupCommit rejects only the batch whose flush failed", async () => {
  let n = 0;
  const g = new GroupCommit<number, number>({
    max: 1,
    keyOf: (i) => i,
    flush: (_group, items) => ++n === 1 ? Promise.reject(new Error("commit failed")) : Promise.resolve(items),
  });
  const [a, b] = await Promise.allSettled([g.submit("o", 1), g.submit("o", 2)]);
  assert.ok(a.status === "rejected" && a.reason.message === "commit failed");
  assert.deepEqual(b, { status: "fulfilled", value: 2 });
});
