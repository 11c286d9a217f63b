import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { CATALOGUE } from "../../lib/events/catalogue.ts";

Deno.test("GET /api/v1/events/types lists every catalogue type with its titles, JSON Schema and fields; a viewer may read it", async () => {
  const t = await startTestHub();
  try {
    const res = await t.api("/api/v1/events/types", { token: await t.tokenFor("viewer") });
    assert.equal(res.status, 200);
    const { items } = await res.json();
    assert.deepEqual(items.map((i: { type: string }) => i.type), Object.keys(CATALOGUE).sort());
    const failed = items.find((i: { type: string }) => i.type === "task.failed");
    assert.deepEqual(failed.title, { ru: "Задание не выполнено", en: "Task failed" });
    assert.equal(failed.schema.type, "object");
    assert.deepEqual(failed.schema.required, ["task_id", "task_type", "reason", "source"]);
    assert.deepEqual(failed.fields, [
      { path: "task_id", type: "integer|null", required: true },
      { path: "task_type", type: "string|null", required: true },
      { path: "reason", type: "string", required: true },
      { path: "source", type: "string", required: true },
    ]);
    const created = items.find((i: { type: string }) => i.type === "onec.task.created");
    assert.ok(
      created.fields.some((f: { path: string; type: string }) => f.path === "responsible.name" && f.type === "string"),
      "nested fields as dotted paths",
    );
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/v1/events/types is a secured operation in /openapi.json, so the auth matrix covers it", async () => {
  const t = await startTestHub();
  try {
    const spec = await (await fetch(`${t.url}/openapi.json`)).json();
    const op = spec.paths["/api/v1/events/types"]?.get;
    assert.ok(op, "documented");
    assert.ok(Array.isArray(op.security) && op.security.length > 0, "declares its security requirement");
    const anonymous = await t.api("/api/v1/events/types", { token: null });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    await t.close();
  }
});
