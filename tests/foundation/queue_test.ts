import assert from "node:assert/strict";
import { z } from "zod";
import { defineJob, defineKind, InvalidMessageError, Queue } from "../../lib/queue/queue.ts";
import { deadKey, type DeadLetter, toDeadLetter } from "../../lib/queue/dead_letters.ts";
import { memoryLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { TerminalJobError, UpstreamHttpError } from "../../lib/errors.ts";
import { eventually, startTestHub } from "../helpers/hub.ts";

/** A test kind: `kind(name, payload)`, optionally with its own backoff. */
function kind<S extends z.ZodType>(name: string, payload: S, backoffMs?: number[]) {
  return defineKind({ kind: name, payload, description: "test", backoffMs });
}

async function setup(backoffMs = [10, 10]) {
  const kv = await Deno.openKv(":memory:");
  const log = memoryLogger();
  const queue = new Queue(kv, { log, metrics: new Metrics(), backoffMs });
  return { kv, queue, log };
}

Deno.test("queue retries a transient failure, then dead-letters it with the reason", async () => {
  const { kv, queue } = await setup([10, 10]);
  let calls = 0;
  let deadReason = "";
  queue.register(defineJob(kind("test.flaky", z.object({ n: z.number() })), {
    handle: () => {
      calls++;
      throw new UpstreamHttpError("Fake answered HTTP 503", { service: "Fake", status: 503 });
    },
    onDeadLetter: (_p, _ctx, reason) => {
      deadReason = reason;
      return Promise.resolve();
    },
  }));
  const listening = queue.listen();
  const id = await queue.enqueue("test.flaky", { n: 1 }, { org: "org1" });
  const dead = (await eventually(() => queue.dead.get("org1", id)))!;
  await queue.idle(); // onDeadLetter runs right after the record is written
  assert.equal(calls, 3, "first attempt + two retries");
  assert.equal(dead.reason, "Fake answered HTTP 503");
  assert.equal(dead.attempts, 3);
  assert.equal(deadReason, "Fake answered HTTP 503");
  await queue.idle();
  kv.close();
  await listening;
});

Deno.test("queue succeeds on a retry after a transient failure", async () => {
  const { kv, queue } = await setup([10, 10]);
  let calls = 0;
  queue.register(defineJob(kind("test.once_flaky", z.object({})), {
    handle: () => {
      calls++;
      if (calls === 1) throw new UpstreamHttpError("timeout", { service: "Fake" });
      return Promise.resolve();
    },
  }));
  const listening = queue.listen();
  const id = await queue.enqueue("test.once_flaky", {}, { org: "org1" });
  await eventually(() => calls === 2);
  await queue.idle();
  assert.equal(await queue.dead.get("org1", id), null);
  kv.close();
  await listening;
});

Deno.test("queue dead-letters a terminal error at once, without retries", async () => {
  const { kv, queue } = await setup([10, 10]);
  let calls = 0;
  queue.register(defineJob(kind("test.terminal", z.object({})), {
    handle: () => {
      calls++;
      throw new TerminalJobError("DaData rejected the API key");
    },
  }));
  const id = await queue.enqueue("test.terminal", {}, { org: "org1" });
  await queue.handle({ v: 1, kind: "test.terminal", org: "org1", id, payload: {} });
  assert.equal(calls, 1);
  assert.equal((await queue.dead.get("org1", id))?.reason, "DaData rejected the API key");
  kv.close();
});

Deno.test("queue dead-letters an invalid message with the reason naming the field", async () => {
  const { kv, queue } = await setup();
  let calls = 0;
  queue.register(defineJob(kind("test.typed", z.object({ task_id: z.number().int() })), {
    handle: () => {
      calls++;
      return Promise.resolve();
    },
  }));
  queue.declare(kind("test.declared", z.object({})));
  await queue.handle({ v: 1, kind: "test.typed", org: "org1", id: "m1", payload: { task_id: "x" } });
  await queue.handle({ v: 1, kind: "test.unknown", org: "org1", id: "m2", payload: {} });
  await queue.handle({ v: 1, kind: "test.declared", org: "org1", id: "m3", payload: {} });
  await queue.handle({ garbage: true });
  assert.equal(calls, 0);
  const m1 = await queue.dead.get("org1", "m1");
  assert.match(m1!.reason, /^invalid message: task_id: /);
  assert.equal(m1!.kind, "test.typed");
  assert.deepEqual(m1!.envelope, { v: 1, kind: "test.typed", org: "org1", id: "m1", payload: { task_id: "x" } });
  assert.equal((await queue.dead.get("org1", "m2"))?.reason, "invalid message: unknown kind test.unknown");
  assert.equal((await queue.dead.get("org1", "m3"))?.reason, "invalid message: no handler for kind test.declared");
  const unknown = await queue.dead.list("unknown");
  assert.equal(unknown.items.length, 1);
  assert.match(unknown.items[0].reason, /invalid message: v: /);
  kv.close();
});

Deno.test("the hub's queue dead-letters a message of an unknown kind or with a bad payload, with its reason", async () => {
  const t = await startTestHub({ http: false, listen: false });
  try {
    const { queue } = t.hub;
    // What an old process, a forged re-drive or a hand-written enqueue might leave on the queue.
    await queue.handle({ v: 1, kind: "task.proces", org: t.org, id: "k1", payload: { tasks: [] } });
    await queue.handle({
      v: 1,
      kind: "schedule.fire",
      org: t.org,
      id: "k2",
      payload: { scheduleId: "s", plannedAt: "soon" },
    });
    assert.equal((await queue.dead.get(t.org, "k1"))?.reason, "invalid message: unknown kind task.proces");
    assert.equal(
      (await queue.dead.get(t.org, "k2"))?.reason,
      "invalid message: plannedAt: Invalid input: expected number, received string; revision: Invalid input: expected number, received undefined",
    );
  } finally {
    await t.close();
  }
});

Deno.test("enqueue() refuses a payload its kind does not accept, at compile time and at run time", async () => {
  const t = await startTestHub({ http: false, listen: false });
  try {
    const { queue } = t.hub;
    const before = await t.enqueued();
    await assert.rejects(
      // @ts-expect-error: force must be a boolean
      () => queue.enqueue("bitrix.cache.refresh", { force: "yes" }, { org: t.org }),
      (e: unknown) =>
        e instanceof InvalidMessageError &&
        e.message === "Cannot enqueue bitrix.cache.refresh: force: Invalid input: expected boolean, received string",
    );
    await assert.rejects(
      // @ts-expect-error: no such kind
      () => queue.enqueue("task.proces", { tasks: [] }, { org: t.org }),
      /Cannot enqueue task.proces: no message kind task.proces is declared/,
    );
    assert.throws(
      () => queue.stage(t.hub.kv.atomic(), { kind: "task.webhook", payload: { results: [] }, org: t.org }),
      /Cannot enqueue task.webhook: results: Too small/,
    );
    assert.equal(await t.enqueued(), before, "nothing was enqueued");
    await queue.enqueue("bitrix.cache.refresh", { force: true }, { org: t.org });
    assert.equal(await t.enqueued(), before + 1);
  } finally {
    await t.close();
  }
});

Deno.test("a duplicate delivery of task.result hands its results off once", async () => {
  // The product's dedupe: the handler's marker, checked in the commit that stages the hand-off.
  const t = await startTestHub({ http: false, listen: false });
  try {
    const { hub, org } = t;
    await hub.enrichment.writeSettings(org, "enrichment", {
      webhookUrl: "https://hooks.example.ru/results",
      webhookSecret: "whsec-1",
    });
    const envelope = hub.queue.envelope({
      kind: "task.result",
      payload: { results: [{ cursor: "c1", task_id: 1, id: 10, task_type: "phone", at: new Date().toISOString() }] },
      org,
    });
    const before = await t.enqueued();
    await Promise.all([hub.queue.handle(envelope), hub.queue.handle(envelope), hub.queue.handle(envelope)]);
    await hub.queue.handle(envelope);
    assert.equal(await t.enqueued() - before, 1, "one task.webhook message for four deliveries");
    assert.equal((await hub.queue.dead.list(org)).items.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("re-driving a dead letter runs it again with a fresh attempt count", async () => {
  const { kv, queue } = await setup([10]);
  let fail = true;
  const done: string[] = [];
  queue.register(defineJob(kind("test.redrive", z.object({ n: z.number() })), {
    handle: (_p, ctx) => {
      if (fail) throw new TerminalJobError("not yet");
      done.push(ctx.id);
      return Promise.resolve();
    },
  }));
  const listening = queue.listen();
  const id = await queue.enqueue("test.redrive", { n: 1 }, { org: "org1" });
  await eventually(() => queue.dead.get("org1", id));
  fail = false;
  assert.equal(await queue.dead.redrive("org1", id), true);
  await eventually(() => done.length === 1);
  assert.deepEqual(done, [id]);
  assert.equal(await queue.dead.get("org1", id), null);
  assert.equal(await queue.dead.redrive("org1", id), false, "a re-driven letter is gone");
  assert.equal(await queue.dead.redrive("other-org", id), false);
  await queue.idle();
  kv.close();
  await listening;
});

Deno.test("queue backlog counts enqueued minus settled", async () => {
  const { kv, queue } = await setup();
  queue.register(defineJob(kind("test.noop", z.object({})), { handle: () => Promise.resolve() }));
  await queue.enqueueMany(Array.from({ length: 5 }, () => ({ kind: "test.noop", payload: {}, org: "o" })));
  assert.equal(await queue.backlog(), 5);
  const listening = queue.listen();
  await eventually(async () => (await queue.backlog()) === 0);
  await queue.idle();
  kv.close();
  await listening;
});

Deno.test("a kind may retry more often than the 5 waits KV's own backoffSchedule allows", async () => {
  const { kv, queue } = await setup();
  let calls = 0;
  queue.register(defineJob(kind("test.many_retries", z.object({}), [5, 5, 5, 5, 5, 5, 5]), {
    handle: () => {
      calls++;
      throw new UpstreamHttpError("down", { service: "Fake", status: 503 });
    },
  }));
  const listening = queue.listen();
  const id = await queue.enqueue("test.many_retries", {}, { org: "org1" });
  const dead = (await eventually(() => queue.dead.get("org1", id)))!;
  await queue.idle();
  assert.equal(calls, 8, "first attempt + seven retries");
  assert.equal(dead.reason, "down");
  kv.close();
  await listening;
});

Deno.test("a message the KV queue gave up on (raw envelope under keysIfUndelivered) stops counting in the backlog once listed", async () => {
  const { kv, queue } = await setup();
  queue.register(defineJob(kind("test.crashy", z.object({ n: z.number() })), { handle: () => Promise.resolve() }));
  const id = await queue.enqueue("test.crashy", { n: 1 }, { org: "org1" });
  assert.equal(await queue.backlog(), 1);
  // What Deno KV itself writes when a handler crashed the process on every delivery: the bare envelope.
  await kv.set(deadKey("org1", id), { v: 1, kind: "test.crashy", org: "org1", id, payload: { n: 1 }, attempt: 0 });
  const { items } = await queue.dead.list("org1");
  assert.deepEqual(items.map((d) => [d.id, d.kind]), [[id, "test.crashy"]]);
  assert.match(items[0].reason, /undelivered/);
  assert.equal(await queue.backlog(), 0, "no handler will settle it: the listing settles its depth marker");
  kv.close();
});

Deno.test("toDeadLetter() says which writer a stored value came from: the store's record or KV's bare envelope", () => {
  // A record the store filed at once (an invalid message): no attempts, yet not a raw envelope.
  const filed: DeadLetter = {
    id: "m1",
    org: "org1",
    kind: "test.unknown",
    reason: "invalid message: unknown kind test.unknown",
    attempts: 0,
    failedAt: "2026-12-03T10:00:00.000Z",
    envelope: { v: 1, kind: "test.unknown", org: "org1", id: "m1" },
  };
  assert.deepEqual(toDeadLetter(deadKey("org1", "m1"), filed), { letter: filed, rawEnvelope: false });

  const bare = { v: 1, kind: "test.crashy", org: "org1", id: "m2", payload: { n: 1 }, attempt: 2 };
  const raw = toDeadLetter(deadKey("org1", "m2"), bare);
  assert.equal(raw.rawEnvelope, true);
  assert.deepEqual(
    [raw.letter.id, raw.letter.org, raw.letter.kind, raw.letter.attempts, raw.letter.envelope],
    ["m2", "org1", "test.crashy", 0, bare],
  );
  assert.match(raw.letter.reason, /^undelivered: /);
  // Whatever else stands there is named by its key and shown as undelivered, never taken for a record.
  const odd = toDeadLetter(deadKey("org1", "m3"), "not an envelope");
  assert.deepEqual([odd.rawEnvelope, odd.letter.id, odd.letter.kind], [true, "m3", "unknown"]);
});

Deno.test("filing dead letters publishes queue.dead_lettered in the same commit: what and why, never the payload", async () => {
  const t = await startTestHub({ http: false, listen: false });
  try {
    const { queue, events } = t.hub;
    await queue.handle({ v: 1, kind: "no.such.kind", org: t.org, id: "d1", payload: { secret: "s3cr3t" } });
    const [event] = await events.since(t.org, { types: ["queue.dead_lettered"] });
    assert.ok(event, "the event was stored with the dead letter");
    assert.deepEqual(event.data, {
      count: 1,
      kind: "no.such.kind",
      reason: "invalid message: unknown kind no.such.kind",
      items: [{ id: "d1", kind: "no.such.kind", reason: "invalid message: unknown kind no.such.kind", attempts: 0 }],
    });
    assert.ok(!JSON.stringify(event.data).includes("s3cr3t"), "the payload stays in the dead letter");
    assert.equal((await queue.dead.get(t.org, "d1"))?.kind, "no.such.kind");
  } finally {
    await t.close();
  }
});
