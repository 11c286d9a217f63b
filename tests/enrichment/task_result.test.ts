import assert from "node:assert/strict";
import { startHarness } from "../helpers/enrichment.ts";

Deno.test("copies of one task.result message publish task.done once, in the commit that hands the results off", async () => {
  const h = await startHarness();
  try {
    const envelope = {
      v: 1,
      kind: "task.result",
      org: "o",
      id: "01JRESULTCOPY0000000000000",
      payload: { results: [{ task_id: 5, id: 9, task_type: "phone", cursor: "c1", at: new Date().toISOString() }] },
    };
    // KV queues deliver at least once: three copies at the same moment, then a late fourth.
    await Promise.all([h.hub.queue.handle(envelope), h.hub.queue.handle(envelope), h.hub.queue.handle(envelope)]);
    await h.hub.queue.handle(envelope);
    const events = await h.hub.events.since("o", { types: ["task.done"] });
    assert.equal(events.length, 1, `task.done ${events.length} times`);
    assert.deepEqual(events[0].data, {
      task_id: 5,
      id: 9,
      count: 1,
      results: [{ task_id: 5, id: 9, task_type: "phone", cursor: "c1" }],
    });
  } finally {
    await h.close();
  }
});
