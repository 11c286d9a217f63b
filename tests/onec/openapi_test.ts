import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";

Deno.test("OpenAPI documents the 1C intake with the sample request", async () => {
  const t = await startTestHub();
  try {
    const res = await t.api("/openapi.json", { token: null });
    const doc = await res.json();
    assert.equal(res.status, 200);
    assert.ok(doc.paths["/"].post);
    assert.ok(doc.paths["/api/v1/onec/tasks"].post);
    assert.equal(doc.components.schemas.OnecRequest.example.tasks[0].calculation, "Сварочный участок");
  } finally {
    await t.close();
  }
});
