import assert from "node:assert/strict";
import { request, setup } from "../helpers/onec.ts";

Deno.test("a burst of 1C requests never exceeds the portal's rate limit and surfaces no error", async () => {
  // The portal's bucket scaled 10× (20/s, burst 10) to keep the test short; the client is told the same limits.
  const h = await setup({
    fake: { rateLimit: { ratePerSec: 20, burst: 10 } },
    settings: { ratePerSec: 20, burst: 10 },
  });
  try {
    const sections = ["Сварочный участок", "Участок покраски", "Механообработка"];
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => h.svc.intake(h.org, request(`B-${i}`, sections[i % 3]))),
    );
    assert.deepEqual(results.filter((r) => r.outcome !== "ok"), []);
    assert.equal(h.fake.state.rejected, 0);
    assert.ok(h.fake.bucket!.maxLevel <= 10);
    assert.equal(h.fake.state.tasks.filter((t) => t.title.startsWith("Задача B-")).length, 24);
  } finally {
    await h.close();
  }
});
