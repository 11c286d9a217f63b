import assert from "node:assert/strict";
import type { FirePayload } from "../../lib/scheduler/schedule_schema.ts";
import { recordingServer, setup } from "../helpers/scheduler.ts";
import { scheduleKey } from "../../lib/scheduler/store.ts";

const NOW = "2025-06-02T09:00:30Z";
const fireAt = (scheduleId: string, plannedAt: number): FirePayload => ({
  scheduleId,
  plannedAt,
  revision: 1,
  trigger: "schedule",
});

async function withHttp(
  respond: Parameters<typeof recordingServer>[0],
  fn: (ctx: Awaited<ReturnType<typeof setup>>, server: ReturnType<typeof recordingServer>) => Promise<void>,
  env: Record<string, string> = {},
) {
  const server = recordingServer(respond);
  const t = await setup({ now: NOW, env });
  try {
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    await fn(t, server);
  } finally {
    await t.close();
    await server.close();
  }
}

Deno.test("an HTTP action calls the local server with its method, headers and body, and the run keeps the answer", async () => {
  await withHttp(() => Response.json({ accepted: true }, { status: 202 }), async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({
        name: "Nightly export",
        cron: "* * * * *",
        timezone: "Europe/Moscow",
        action: {
          type: "http",
          method: "PUT",
          url: `${server.url}/hook`,
          headers: { Authorization: "Bearer s3cret", "Content-Type": "application/json" },
          body: '{"run":true}',
        },
      }),
    );
    t.clock.set("2025-06-02T09:01:00.250Z");
    const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "e" });
    assert.equal(server.calls.length, 1);
    assert.equal(server.calls[0].method, "PUT");
    assert.equal(server.calls[0].path, "/hook");
    assert.equal(server.calls[0].headers.get("authorization"), "Bearer s3cret");
    assert.equal(server.calls[0].body, '{"run":true}');
    assert.equal(run?.outcome, "ok");
    assert.equal(run?.httpStatus, 202);

    const saved = await s.getRun(t.org, run!.id);
    assert.equal(saved?.responseBody, '{"accepted":true}');
    assert.equal(saved?.plannedAt, "2025-06-02T09:01:00.000Z");
    assert.equal(saved?.startedAt, "2025-06-02T09:01:00.250Z");
    assert.equal(saved?.timezone, "Europe/Moscow");
    assert.equal(saved?.attempts, 1);
    const listed = await s.listRuns(t.org, sched.id);
    assert.equal(listed.items.length, 1);
    assert.equal("responseBody" in listed.items[0], false, "lists leave bodies out");
    const [event] = await t.hub.events.recent(t.org, { types: ["schedule.*"] });
    assert.equal(event.type, "schedule.run");
    assert.equal(event.data.runId, run!.id);
  });
});

Deno.test("an HTTP action retries 5xx on the schedule's backoff and records every attempt", async () => {
  await withHttp((_, n) => new Response(n < 3 ? "busy" : "done", { status: n < 3 ? 503 : 200 }), async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({
        name: "r",
        cron: "* * * * *",
        retry: { attempts: 3, backoffMs: 500 },
        action: { type: "http", url: `${server.url}/x` },
      }),
    );
    const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "e" });
    assert.equal(server.calls.length, 3);
    assert.equal(run?.outcome, "ok");
    assert.equal(run?.attempts, 3);
    assert.equal(run?.responseBody, "done");
    assert.equal(t.clock.sleeps.length, 2, "two waits on the fake clock");
    assert.ok(t.clock.sleeps[0] >= 250 && t.clock.sleeps[0] <= 500);
    assert.ok(t.clock.sleeps[1] >= 500 && t.clock.sleeps[1] <= 1000);
    assert.equal(run?.durationMs, t.clock.sleeps[0] + t.clock.sleeps[1], "duration is measured on the clock");
  });
});

Deno.test("an HTTP action does not retry a 4xx and publishes schedule.failed", async () => {
  await withHttp(() => new Response("no such hook", { status: 404 }), async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({
        name: "f",
        cron: "* * * * *",
        retry: { attempts: 3, backoffMs: 10 },
        action: { type: "http", url: `${server.url}/x` },
      }),
    );
    const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "e" });
    assert.equal(server.calls.length, 1);
    assert.equal(run?.outcome, "failed");
    assert.equal(run?.httpStatus, 404);
    assert.match(run?.reason ?? "", /answered HTTP 404: no such hook/);
    const [event] = await t.hub.events.recent(t.org);
    assert.equal(event.type, "schedule.failed");
  });
});

Deno.test("an HTTP action that does not answer in time ends as timeout after its retries", async () => {
  // The server holds every request until the test releases it, after the client has given up.
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  await withHttp(async () => {
    await gate;
    return new Response("late");
  }, async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({
        name: "slow",
        cron: "* * * * *",
        timeoutMs: 150,
        retry: { attempts: 1, backoffMs: 10 },
        action: { type: "http", url: `${server.url}/slow` },
      }),
    );
    try {
      const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "e" });
      assert.equal(server.calls.length, 2);
      assert.equal(run?.outcome, "timeout");
      assert.equal(run?.attempts, 2);
      assert.match(run?.reason ?? "", /did not answer within 150 ms/);
    } finally {
      release();
    }
  });
});

Deno.test("a stored response body is cut to the configured size", async () => {
  await withHttp(() => new Response("я".repeat(100)), async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({ name: "big", cron: "* * * * *", action: { type: "http", method: "GET", url: server.url } }),
    );
    const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "e" });
    assert.equal(run?.responseBody, "я".repeat(5), "11 bytes hold five two-byte letters");
    assert.equal(run?.responseBytes, 200);
    assert.equal(run?.responseTruncated, true);
  }, { SHLYUZ_SCHEDULER_RESPONSE_LIMIT: "11" });
});

Deno.test("an HTTP action to a private address fails when the organization withdraws the permission", async () => {
  await withHttp(undefined, async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({ name: "p", cron: "* * * * *", action: { type: "http", url: server.url } }),
    );
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: false });
    const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "e" });
    assert.equal(server.calls.length, 0);
    assert.equal(run?.outcome, "failed");
    assert.match(run?.reason ?? "", /does not allow private networks/);
  });
});

Deno.test("overlap policy skip records a skipped run while the previous one is still running", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let entered!: () => void;
  const inside = new Promise<void>((r) => entered = r);
  await withHttp(async () => {
    entered();
    await gate;
    return new Response("ok");
  }, async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({ name: "o", cron: "* * * * * *", overlap: "skip", action: { type: "http", url: server.url } }),
    );
    const first = s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "a" });
    await inside;
    const second = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:01Z")), { org: t.org, envelopeId: "b" });
    assert.equal(second?.outcome, "skipped");
    assert.match(second?.reason ?? "", /still running \(overlap policy is skip\)/);
    release();
    assert.equal((await first)?.outcome, "ok");
    // The lease is gone: the next occurrence runs.
    const third = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:02Z")), { org: t.org, envelopeId: "c" });
    assert.equal(third?.outcome, "ok");
  });
});

Deno.test("runNow() queues a manual run whose id the fire keeps", async () => {
  const t = await setup({ now: NOW });
  try {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({ name: "now", cron: "0 0 1 1 *", action: { type: "internal", job: "demo.ping", payload: { to: "x" } } }),
    );
    const queued = await s.runNow(t.org, sched.id);
    assert.equal(queued?.outcome, "queued");
    const run = await s.fire(
      { scheduleId: sched.id, plannedAt: t.clock.now(), revision: 1, trigger: "manual", runId: queued!.id },
      { org: t.org, envelopeId: "m" },
    );
    assert.equal(run?.id, queued!.id);
    assert.equal(run?.trigger, "manual");
    assert.equal((await s.getRun(t.org, queued!.id))?.outcome, "ok");
    assert.equal(await s.runNow(t.org, "missing"), null);
  } finally {
    await t.close();
  }
});

Deno.test("a redelivered fire after a crash closes the interrupted run instead of calling the target again", async () => {
  await withHttp(undefined, async (t, server) => {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({ name: "c", cron: "* * * * *", action: { type: "http", url: server.url } }),
    );
    const p = fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z"));
    const run = await s.fire(p, { org: t.org, envelopeId: "same" });
    // Pretend the process died before the outcome was saved.
    await s.runs.save({ ...run!, outcome: "running", finishedAt: undefined });
    assert.equal(await s.fire(p, { org: t.org, envelopeId: "same" }), null);
    assert.equal(server.calls.length, 1);
    const closed = await s.getRun(t.org, run!.id);
    assert.equal(closed?.outcome, "failed");
    assert.match(closed?.reason ?? "", /interrupted/);
  });
});

Deno.test("an HTTP action reads no more of a huge answer than it keeps and closes the connection early", async () => {
  const total = 50 * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let sent = 0;
  let cancelled = false;
  let wait: Promise<unknown> = Promise.resolve();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= total) return controller.close();
          wait = new Promise((r) => setTimeout(r, 2)); // slowly: reading it all would take seconds
          await wait;
          sent += chunk.length;
          controller.enqueue(chunk);
        },
        cancel() {
          cancelled = true;
        },
      }),
    ));
  const t = await setup({ now: NOW, env: { SHLYUZ_SCHEDULER_RESPONSE_LIMIT: "1000" } });
  try {
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({
        name: "huge",
        cron: "* * * * *",
        action: { type: "http", method: "GET", url: `http://127.0.0.1:${server.addr.port}/dump` },
      }),
    );
    const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "e" });
    assert.equal(run?.outcome, "ok");
    assert.equal(run?.responseBody, "a".repeat(1000));
    assert.equal(run?.responseTruncated, true);
    assert.equal(run?.responseBytes, undefined, "the full size is unknown when the target did not declare it");
    const deadline = Date.now() + 5000;
    while (!cancelled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cancelled, "the server sees the connection closed before the end");
    assert.ok(sent < total / 10, `only the start was sent (${sent} bytes)`);
  } finally {
    await t.close();
    await server.shutdown();
    await wait; // the last pull's timer
  }
});

Deno.test("a stored schedule whose job is not schedulable (saved before a change of that kind) fails its run, enqueuing nothing", async () => {
  const t = await setup({ now: NOW });
  try {
    const s = t.scheduler;
    const sched = await s.create(
      t.org,
      s.parse({ name: "old", cron: "* * * * *", action: { type: "internal", job: "demo.ping", payload: { to: "x" } } }),
    );
    // A kind with a handler that organizations may not schedule, written straight into the record, as an older
    // build (before that kind stopped being schedulable) or a bad migration could leave it.
    const key = scheduleKey(t.org, sched.id);
    const stored = (await t.hub.kv.get<Record<string, unknown>>(key)).value!;
    await t.hub.kv.set(key, {
      ...stored,
      action: { type: "internal", job: "schedule.fire", payload: fireAt(sched.id, 0) },
    });
    const run = await s.fire(fireAt(sched.id, Date.parse("2025-06-02T09:01:00Z")), { org: t.org, envelopeId: "ns" });
    assert.equal(run?.outcome, "failed");
    assert.match(run?.reason ?? "", /schedule\.fire is not a job organizations may schedule/);
    assert.equal(run?.jobId, undefined, "nothing was enqueued");
  } finally {
    await t.close();
  }
});
