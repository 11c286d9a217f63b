import assert from "node:assert/strict";
import { request, setup } from "../helpers/onec.ts";

const MIN = 60_000;

Deno.test("warm caches make a new 1C task cost two Bitrix calls; expired ones are reloaded", async () => {
  const h = await setup();
  try {
    const cold = await h.svc.intake(h.org, request("C-1", "Сварочный участок"));
    // departments, project, author by e-mail, staff, presence, open tasks, add
    assert.equal(cold.log.bitrixCalls, 7);
    const warm = await h.svc.intake(h.org, request("C-2", "Сварочный участок"));
    assert.equal(warm.log.bitrixCalls, 2);
    h.clock.jump(16 * MIN); // staff and presence (15 min) expire, departments (1 h) do not
    const stale = await h.svc.intake(h.org, request("C-3", "Сварочный участок"));
    assert.equal(stale.log.bitrixCalls, 4);
    const state = await h.svc.cacheState(h.org);
    assert.deepEqual(state.map((e) => e.key).sort(), [
      "departments",
      "email:m.ivanova@zavod.example",
      "presence:3",
      "project:задачи из 1с",
      "staff:3",
    ]);
    assert.ok(state.every((e) => e.fresh));
  } finally {
    await h.close();
  }
});

Deno.test("refreshCaches() reloads what expires soon, so requests stay at two calls", async () => {
  const h = await setup();
  try {
    await h.svc.intake(h.org, request("R-1", "Участок покраски"));
    h.clock.jump(10 * MIN); // 5 min left on staff and presence: due within the 7-minute horizon
    const r = await h.svc.refreshCaches(h.org);
    assert.deepEqual(r.refreshed.sort(), [
      "presence:3",
      "presence:4",
      "presence:5",
      "presence:6",
      "staff:3",
      "staff:4",
      "staff:5",
      "staff:6",
    ]);
    // One staff batch and one presence batch per section (4 sections), nothing per person.
    assert.ok(r.requests <= 8, `refresh made ${r.requests} requests`);
    h.clock.jump(6 * MIN); // past the original 15 minutes
    const after = await h.svc.intake(h.org, request("R-2", "Участок покраски"));
    assert.equal(after.log.bitrixCalls, 2);
    const forced = await h.svc.refreshCaches(h.org, { force: true });
    assert.equal(forced.refreshed.length, 10);
  } finally {
    await h.close();
  }
});
