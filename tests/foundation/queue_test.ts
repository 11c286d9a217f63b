import assert from "node:assert/strict";
import { z } from "zod";
import { defineJob, Queue } from "../../lib/queue/queue.ts";
import { memoryLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { claimOnce, dedupeKey } from "../../lib/kv/dedupe.ts";
import { TerminalJobError, UpstreamHttpError } from "../../lib/errors.ts";
import { eventually } from "../helpers/hub.ts";

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
  queue.register(defineJob({
    kind: "test.flaky",
    payload: z.object({ n: z.number() }),
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
  const id = await queue.enqueue("test.flaky", "org1", { n: 1 });
  const dead = (await eventually(() => queue.deadLetter("org1", id)))!;
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
  queue.register(defineJob({
    kind: "test.once_flaky",
    payload: z.object({}),
    handle: () => {
      calls++;
      if (calls === 1) throw new UpstreamHttpError("timeout", { service: "Fake" });
      return Promise.resolve();
    },
  }));
  const listening = queue.listen();
  const id = await queue.enqueue("test.once_flaky", "org1", {});
  await eventually(() => calls === 2);
  await queue.idle();
  assert.equal(await queue.deadLetter("org1", id), null);
  kv.close();
  await listening;
});

Deno.test("queue dead-letters a terminal error at once, without retries", async () => {
  const { kv, queue } = await setup([10, 10]);
  let calls = 0;
  queue.register(defineJob({
    kind: "test.terminal",
    payload: z.object({}),
    handle: () => {
      calls++;
      throw new TerminalJobError("DaData rejected the API key");
    },
  }));
  const id = await queue.enqueue("test.terminal", "org1", {});
  await queue.handle({ v: 1, kind: "test.terminal", org: "org1", id, payload: {} });
  assert.equal(calls, 1);
  assert.equal((await queue.deadLetter("org1", id))?.reason, "DaData rejected the API key");
  kv.close();
});

Deno.test("queue dead-letters an invalid message with the reason naming the field", async () => {
  const { kv, queue } = await setup();
  let calls = 0;
  queue.register(defineJob({
    kind: "test.typed",
    payload: z.object({ task_id: z.number().int() }),
    handle: () => {
      calls++;
      return Promise.resolve();
    },
  }));
  await queue.handle({ v: 1, kind: "test.typed", org: "org1", id: "m1", payload: { task_id: "x" } });
  await queue.handle({ v: 1, kind: "test.unknown", org: "org1", id: "m2", payload: {} });
  await queue.handle({ garbage: true });
  assert.equal(calls, 0);
  const m1 = await queue.deadLetter("org1", "m1");
  assert.match(m1!.reason, /^invalid message: task_id: /);
  assert.equal((await queue.deadLetter("org1", "m2"))?.reason, "invalid message: no handler for kind test.unknown");
  const unknown = await queue.deadLetters("unknown");
  assert.equal(unknown.items.length, 1);
  assert.match(unknown.items[0].reason, /invalid message: v: /);
  kv.close();
});

Deno.test("a duplicate delivery of the same message is a no-op", async () => {
  const { kv, queue } = await setup();
  const effects: string[] = [];
  queue.register(defineJob({
    kind: "test.effect",
    payload: z.object({ what: z.string() }),
    handle: async (p, ctx) => {
      if (!(await claimOnce(ctx.kv, dedupeKey("test.effect", ctx.id)))) return;
      effects.push(p.what);
    },
  }));
  const envelope = { v: 1, kind: "test.effect", org: "org1", id: "dup-1", payload: { what: "x" } };
  await Promise.all([queue.handle(envelope), queue.handle(envelope), queue.handle(envelope)]);
  await queue.handle(envelope);
  assert.deepEqual(effects, ["x"]);
  kv.close();
});

Deno.test("re-driving a dead letter runs it again with a fresh attempt count", async () => {
  const { kv, queue } = await setup([10]);
  let fail = true;
  const done: string[] = [];
  queue.register(defineJob({
    kind: "test.redrive",
    payload: z.object({ n: z.number() }),
    handle: (_p, ctx) => {
      if (fail) throw new TerminalJobError("not yet");
      done.push(ctx.id);
      return Promise.resolve();
    },
  }));
  const listening = queue.listen();
  const id = await queue.enqueue("test.redrive", "org1", { n: 1 });
  await eventually(() => queue.deadLetter("org1", id));
  fail = false;
  assert.equal(await queue.redrive("org1", id), true);
  await eventually(() => done.length === 1);
  assert.deepEqual(done, [id]);
  assert.equal(await queue.deadLetter("org1", id), null);
  assert.equal(await queue.redrive("org1", id), false, "a re-driven letter is gone");
  assert.equal(await queue.redrive("other-org", id), false);
  await queue.idle();
  kv.close();
  await listening;
});

Deno.test("queue backlog counts enqueued minus settled", async () => {
  const { kv, queue } = await setup();
  queue.register(defineJob({ kind: "test.noop", payload: z.object({}), handle: () => Promise.resolve() }));
  await queue.enqueueMany(Array.from({ length: 5 }, () => ({ kind: "test.noop", org: "o", payload: {} })));
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
  queue.register(defineJob({
    kind: "test.many_retries",
    payload: z.object({}),
    backoffMs: [5, 5, 5, 5, 5, 5, 5],
    handle: () => {
      calls++;
      throw new UpstreamHttpError("down", { service: "Fake", status: 503 });
    },
  }));
  const listening = queue.listen();
  const id = await queue.enqueue("test.many_retries", "org1", {});
  const dead = (await eventually(() => queue.deadLetter("org1", id)))!;
  await queue.idle();
  assert.equal(calls, 8, "first attempt + seven retries");
  assert.equal(dead.reason, "down");
  kv.close();
  await listening;
});
