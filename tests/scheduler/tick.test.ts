import assert from "node:assert/strict";
import { Scheduler } from "../../lib/scheduler/service.ts";
import type { FirePayload, Run } from "../../lib/scheduler/schedule_schema.ts";
import { setup } from "../helpers/scheduler.ts";

const at = (s: string) => Date.parse(s);
const internal = { type: "internal", job: "demo.ping", payload: { to: "ops" } };

async function runsOf(t: Awaited<ReturnType<typeof setup>>, id: string) {
  return (await t.scheduler.listRuns(t.org, id)).items;
}

Deno.test("saving a seconds-level schedule plans the rest of this minute and the next one at once", async () => {
  const t = await setup({ now: "2025-06-02T09:00:30Z" });
  try {
    await t.scheduler.create(t.org, t.scheduler.parse({ name: "s", cron: "*/10 * * * * *", action: internal }));
    // 09:00:30, :40, :50 and the six of 09:01.
    assert.equal(await t.enqueued(), 9);
  } finally {
    await t.close();
  }
});

Deno.test("tick() enqueues each occurrence of the coming minute once when two ticks race", async () => {
  const t = await setup({ now: "2025-06-02T09:00:30Z" });
  try {
    const s = t.scheduler;
    await s.create(t.org, s.parse({ name: "sec", cron: "*/10 * * * * *", action: internal }));
    await s.create(t.org, s.parse({ name: "min", cron: "* * * * *", timezone: "Europe/Moscow", action: internal }));
    await s.create(
      t.org,
      s.parse({ name: "daily", cron: "0 9 * * *", timezone: "Asia/Vladivostok", action: internal }),
    );
    const before = await t.enqueued();
    t.clock.set("2025-06-02T09:01:00.020Z");
    // A second process (another Scheduler on the same KV) ticks at the same moment.
    const other = new Scheduler({ ...t.hub });
    const reports = await Promise.all([s.tick(), other.tick(), s.tick()]);
    // 09:02:00–09:02:59: six seconds-level fires and one minute fire; the daily one is not due.
    assert.equal((await t.enqueued()) - before, 7);
    assert.equal(reports.reduce((n, r) => n + r.enqueued, 0), 7);
    // The next tick in the same minute finds nothing left to plan.
    assert.equal((await s.tick()).enqueued, 0);
  } finally {
    await t.close();
  }
});

Deno.test("fire() runs an occurrence once even when two messages carry it", async () => {
  const t = await setup({ now: "2025-06-02T09:00:30Z" });
  try {
    const s = t.scheduler;
    const sched = await s.create(t.org, s.parse({ name: "m", cron: "* * * * *", action: internal }));
    t.clock.set("2025-06-02T09:01:00.010Z");
    const p: FirePayload = {
      scheduleId: sched.id,
      plannedAt: at("2025-06-02T09:01:00Z"),
      revision: 1,
      trigger: "schedule",
    };
    const [a, b] = await Promise.all([
      s.fire(p, { org: t.org, envelopeId: "env-a" }),
      s.fire(p, { org: t.org, envelopeId: "env-b" }),
    ]);
    assert.equal([a, b].filter(Boolean).length, 1);
    assert.equal(await s.fire(p, { org: t.org, envelopeId: "env-c" }), null);
    const runs = await runsOf(t, sched.id);
    assert.equal(runs.length, 1);
    assert.equal(runs[0].outcome, "ok");
    assert.equal(runs[0].plannedAt, "2025-06-02T09:01:00.000Z");
  } finally {
    await t.close();
  }
});

Deno.test("editing a schedule drops fires that no longer belong to its cron and plans the new ones", async () => {
  const t = await setup({ now: "2025-06-02T09:00:30Z" });
  try {
    const s = t.scheduler;
    const sched = await s.create(t.org, s.parse({ name: "e", cron: "*/2 * * * *", action: internal }));
    t.clock.set("2025-06-02T09:01:00Z");
    await s.tick();
    const old: FirePayload = {
      scheduleId: sched.id,
      plannedAt: at("2025-06-02T09:02:00Z"),
      revision: 1,
      trigger: "schedule",
    };
    t.clock.set("2025-06-02T09:01:30Z");
    await s.patch(t.org, sched.id, { cron: "*/3 * * * *" });
    t.clock.set("2025-06-02T09:02:00Z");
    assert.equal(await s.fire(old, { org: t.org, envelopeId: "e1" }), null, "09:02 is not a */3 occurrence");
    // Back to every minute: the fire planned under revision 1 belongs again and runs.
    t.clock.set("2025-06-02T09:01:40Z");
    const before = await t.enqueued();
    await s.patch(t.org, sched.id, { cron: "* * * * *" });
    assert.equal((await t.enqueued()) - before, 1, "09:02 planned at once under the new revision");
    t.clock.set("2025-06-02T09:02:00Z");
    const run = await s.fire(old, { org: t.org, envelopeId: "e2" });
    assert.equal(run?.outcome, "ok");
    assert.equal(
      await s.fire({ ...old, revision: 3 }, { org: t.org, envelopeId: "e3" }),
      null,
      "the re-planned message is a duplicate",
    );
  } finally {
    await t.close();
  }
});

Deno.test("disabling a schedule stops queued fires and the tick at once", async () => {
  const t = await setup({ now: "2025-06-02T09:00:30Z" });
  try {
    const s = t.scheduler;
    const sched = await s.create(t.org, s.parse({ name: "d", cron: "* * * * *", action: internal }));
    await s.patch(t.org, sched.id, { enabled: false });
    t.clock.set("2025-06-02T09:01:00Z");
    const p: FirePayload = { scheduleId: sched.id, plannedAt: t.clock.now(), revision: 1, trigger: "schedule" };
    assert.equal(await s.fire(p, { org: t.org, envelopeId: "x" }), null);
    const report = await s.tick();
    assert.deepEqual({ schedules: report.schedules, enqueued: report.enqueued }, { schedules: 0, enqueued: 0 });
    assert.equal((await s.get(t.org, sched.id))?.nextRunAt, null);
    await s.remove(t.org, sched.id);
    assert.equal(await s.fire(p, { org: t.org, envelopeId: "y" }), null);
  } finally {
    await t.close();
  }
});

Deno.test("after downtime, catch-up policy skip records the missed occurrences without running them", async () => {
  const t = await setup({ now: "2025-06-02T09:00:30Z" });
  try {
    const s = t.scheduler;
    const sched = await s.create(t.org, s.parse({ name: "skip", cron: "* * * * *", action: internal }));
    t.clock.set("2025-06-02T10:00:10Z"); // down from 09:00:30 until now
    const before = await t.enqueued();
    const report = await s.tick();
    // Planned through 09:02:00; 09:02 … 09:59 are past the 60 s tolerance; 10:00 and 10:01 are enqueued.
    assert.equal(report.missed, 58);
    assert.equal((await t.enqueued()) - before, 2);
    const [missed] = await runsOf(t, sched.id);
    assert.equal(missed.outcome, "missed");
    assert.equal(missed.missedCount, 58);
    assert.equal(missed.plannedAt, "2025-06-02T09:02:00.000Z");
    assert.equal(missed.lastMissedAt, "2025-06-02T09:59:00.000Z");
    assert.match(missed.reason ?? "", /catch-up policy is skip/);
    // A fire message that was queued before the downtime arrives late: recorded as missed, not run.
    const late: FirePayload = {
      scheduleId: sched.id,
      plannedAt: at("2025-06-02T09:01:00Z"),
      revision: 1,
      trigger: "schedule",
    };
    const run = await s.fire(late, { org: t.org, envelopeId: "late" });
    assert.equal(run?.outcome, "missed");
  } finally {
    await t.close();
  }
});

Deno.test("after downtime, catch-up policy once runs the latest missed occurrence and records the rest", async () => {
  const t = await setup({ now: "2025-06-02T09:00:30Z" });
  try {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({ name: "once", cron: "*/5 * * * *", timezone: "Europe/Moscow", catchUp: "once", action: internal }),
    );
    t.clock.set("2025-06-02T10:00:10Z");
    const report = await s.tick();
    // 09:05 … 09:55 missed (11); 09:55 catches up, 10 recorded; 10:00 enqueued normally.
    assert.equal(report.missed, 10);
    assert.equal(report.enqueued, 2);
    const [missed] = await runsOf(t, sched.id);
    assert.equal(missed.missedCount, 10);
    const catchUp: FirePayload = {
      scheduleId: sched.id,
      plannedAt: at("2025-06-02T09:55:00Z"),
      revision: 1,
      trigger: "catch_up",
    };
    const run: Run | null = await s.fire(catchUp, { org: t.org, envelopeId: "cu" });
    assert.equal(run?.outcome, "ok");
    assert.equal(run?.trigger, "catch_up");
    assert.ok(run?.jobId, "the internal action enqueued its job");
    // An older message delivered late does not run a second catch-up.
    const older: FirePayload = { ...catchUp, plannedAt: at("2025-06-02T09:50:00Z"), trigger: "schedule" };
    assert.equal((await s.fire(older, { org: t.org, envelopeId: "old" }))?.outcome, "missed");
  } finally {
    await t.close();
  }
});
