import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { startBitrix24Fake } from "../fakes/bitrix24.ts";
import { sampleRequest } from "../../lib/onec/request_schema.ts";
import { TestClock } from "../helpers/clocks.ts";

Deno.test("a 1C request refused with 422 reaches the intake log with the reason, on both addresses", async () => {
  const clock = new TestClock();
  const fake = await startBitrix24Fake({ now: () => clock.now() });
  const t = await startTestHub({ env: { BITRIX_WEBHOOK: fake.webhookUrl }, clock });
  try {
    const operator = await t.tokenFor("operator");
    const before = fake.state.tasks.length;
    const task = { ...sampleRequest.tasks[0], title: "" };
    for (const path of ["/", "/api/v1/onec/tasks"]) {
      const res = await t.api(path, { method: "POST", json: { tasks: [task] }, token: operator });
      assert.equal(res.status, 422, path);
      const body = await res.json();
      assert.equal(body.error.code, "validation_failed");
      assert.match(body.error.message, /tasks\.0\.title/);
    }
    const log = await (await t.api("/api/v1/onec/log")).json();
    assert.equal(log.items.length, 2);
    for (const entry of log.items) {
      assert.equal(entry.outcome, "rejected");
      assert.equal(entry.bitrixCalls, 0);
      assert.equal(entry.tasks[0].op, "rejected");
      assert.equal(entry.tasks[0].onecId, String(task.id));
      assert.match(entry.tasks[0].error, /tasks\.0\.title/, "the reason names the field");
    }
    assert.equal(fake.state.tasks.length, before, "nothing reached Bitrix24");
    const events = await t.hub.events.recent(t.org, { types: ["onec.request.logged"] });
    assert.equal(events.length, 2, "the page's live log hears about each");
  } finally {
    await t.close();
    await fake.close();
  }
});
