/**
 * Values no sink can store are refused where they come in, with the field
 * named — on REST, the batch endpoint, the KV queue and RabbitMQ alike.
 */
import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { startDadataFake } from "../fakes/dadata.ts";
import { parseTaskBytes } from "../../lib/enrichment/task_schema.ts";
import { startHarness, waitFor } from "../helpers/enrichment.ts";

const ORG = "org_boundary";
const LONE = "bad\ud800@mail.ru";
const MESSAGE = "must not contain lone UTF-16 surrogates";

Deno.test("a lone surrogate in data is a 422 naming data on POST /tasks and /tasks/batch, before any upstream call", async () => {
  const dadata = await startDadataFake();
  const t = await startTestHub({
    env: { DADATA_BASE_URL: dadata.url, DADATA_API_KEY: "test-dadata-key", DADATA_SECRET_KEY: "test-dadata-secret" },
  });
  try {
    for (const data of [LONE, "\udfff", "x\udc00y"]) {
      const res = await t.api("/api/v1/tasks", { method: "POST", json: { task_id: 1, task_type: "email", data } });
      const body = await res.json();
      assert.equal(res.status, 422, JSON.stringify(body));
      const issue = body.error.details.find((d: { field: string }) => d.field === "data");
      assert.ok(issue?.message.startsWith(MESSAGE), JSON.stringify(body));
    }
    const batch = await t.api("/api/v1/tasks/batch", {
      method: "POST",
      json: {
        tasks: [{ task_id: 1, task_type: "email", data: "ok@mail.ru" }, { task_id: 2, task_type: "email", data: LONE }],
      },
    });
    const body = await batch.json();
    assert.equal(batch.status, 422, JSON.stringify(body));
    assert.ok(
      body.error.details.some((d: { field: string; message: string }) =>
        d.field === "tasks.1.data" && d.message.startsWith(MESSAGE)
      ),
      JSON.stringify(body),
    );
    // A well-formed pair (an emoji) is a character like any other.
    const emoji = await t.api("/api/v1/tasks", {
      method: "POST",
      json: { task_id: 3, task_type: "email", data: "smile😀@mail.ru" },
    });
    assert.equal(emoji.status, 200, await emoji.text());
    assert.equal(dadata.state.calls, 1);
  } finally {
    await t.close();
    await dadata.close();
  }
});

Deno.test("a RabbitMQ message whose data has a lone surrogate escape is refused naming data", () => {
  const bytes = new TextEncoder().encode('{"task_id":7,"task_type":"phone","data":"bad\\ud800 846"}');
  const v = parseTaskBytes(bytes);
  assert.equal(v.ok, false);
  assert.ok(!v.ok && v.issues.some((i) => i.field === "data" && i.message.startsWith(MESSAGE)), JSON.stringify(v));
});

Deno.test("a queued task with a lone surrogate is dead-lettered alone with the reason; its neighbours are stored", async () => {
  const calls: number[] = [];
  const h = await startHarness({
    options: {
      enrich: (_org, task) => {
        calls.push(task.task_id);
        return Promise.resolve({ echo: task.data });
      },
    },
  });
  try {
    await h.svc.processor.submit(ORG, [
      { task_id: 1, task_type: "email", data: "a@mail.ru" },
      { task_id: 2, task_type: "email", data: LONE },
      { task_id: 3, task_type: "email", data: "c@mail.ru" },
    ], "queue");
    await waitFor(async () => (await h.svc.processor.stats(ORG)).email?.done === 2, 10_000, "two done");
    const dead = await h.hub.queue.dead.list(ORG, { kind: "task.process" });
    assert.equal(dead.items.length, 1);
    assert.match(dead.items[0].reason, /^invalid task: data: must not contain lone UTF-16 surrogates/);
    assert.deepEqual(calls.sort(), [1, 3]);
  } finally {
    await h.close();
  }
});
