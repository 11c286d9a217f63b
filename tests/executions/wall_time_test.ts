import assert from "node:assert/strict";
import { wallTimeToIso } from "../../routes/pages/executions.tsx";

Deno.test("the journal's time range is wall time in the organization's zone", () => {
  assert.equal(wallTimeToIso("2026-12-02T10:00", "Europe/Moscow"), "2026-12-02T07:00:00.000Z");
  assert.equal(wallTimeToIso("2026-12-02T10:00", "UTC"), "2026-12-02T10:00:00.000Z");
  assert.equal(wallTimeToIso("2026-12-02T10:00", "Asia/Vladivostok"), "2026-12-02T00:00:00.000Z");
  // Either side of Berlin's spring-forward (02:00 → 03:00 on 29 March 2026).
  assert.equal(wallTimeToIso("2026-03-29T01:30", "Europe/Berlin"), "2026-03-29T00:30:00.000Z");
  assert.equal(wallTimeToIso("2026-03-29T04:00", "Europe/Berlin"), "2026-03-29T02:00:00.000Z");
  assert.equal(wallTimeToIso("yesterday", "UTC"), null);
  assert.equal(wallTimeToIso("", "UTC"), null);
});
