import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import type { CustomEventType } from "../../lib/events/types.ts";

/** Publishes a custom event; tests run strict, so a refused event throws instead of answering null. */
async function emit(t: TestHub, type: CustomEventType, data: Record<string, unknown> = {}, org = t.org) {
  return (await t.hub.events.publish(org, type, data))!;
}

interface Frame {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads SSE frames from a response until `count` data frames arrived. */
async function readFrames(res: Response, count: number): Promise<Frame[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const frames: Frame[] = [];
  let buf = "";
  while (frames.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f: Frame = {};
      for (const line of chunk.split("\n")) {
        const m = /^(\w+): ?(.*)$/.exec(line);
        if (m && (m[1] === "id" || m[1] === "event" || m[1] === "data")) f[m[1]] = m[2];
      }
      if (f.data) frames.push(f);
    }
  }
  await reader.cancel();
  return frames;
}

Deno.test("SSE: two clients both receive an event published after they connected", async () => {
  const t = await startTestHub();
  try {
    const before = t.hub.events.subscriberCount;
    const a = await t.api("/api/v1/events");
    const b = await t.api("/api/v1/events?types=custom.demo.*");
    assert.equal(a.headers.get("content-type"), "text/event-stream");
    // The headers go out only once the subscription is attached: nothing to wait for.
    assert.equal(t.hub.events.subscriberCount, before + 2);
    const published = await emit(t, "custom.demo.hello", { n: 1 });
    await emit(t, "custom.other", { n: 2 });
    const [fa, fb] = await Promise.all([readFrames(a, 2), readFrames(b, 1)]);
    assert.equal(fa[0].id, published.id);
    assert.equal(fa[0].event, "custom.demo.hello");
    assert.deepEqual(JSON.parse(fa[0].data!).data, { n: 1 });
    assert.equal(fa[1].event, "custom.other");
    assert.equal(fb.length, 1);
    assert.equal(fb[0].event, "custom.demo.hello", "the type filter keeps custom.other out");
  } finally {
    await t.close();
  }
});

Deno.test("SSE: resuming with Last-Event-ID delivers the events missed meanwhile, once each", async () => {
  const t = await startTestHub();
  try {
    const first = await emit(t, "custom.a");
    const missed1 = await emit(t, "custom.b");
    const missed2 = await emit(t, "custom.c");
    const res = await t.api("/api/v1/events", { headers: { "last-event-id": first.id } });
    const live = await emit(t, "custom.d");
    const frames = await readFrames(res, 3);
    assert.deepEqual(frames.map((f) => f.id), [missed1.id, missed2.id, live.id]);
  } finally {
    await t.close();
  }
});

Deno.test("SSE: plain=1 leaves out the event field; other organizations' events never arrive", async () => {
  const t = await startTestHub();
  try {
    const res = await t.api("/api/v1/events?plain=1");
    await emit(t, "custom.secret", {}, "another-org");
    const mine = await emit(t, "custom.mine");
    const [frame] = await readFrames(res, 1);
    assert.equal(frame.id, mine.id);
    assert.equal(frame.event, undefined);
  } finally {
    await t.close();
  }
});

Deno.test("SSE: a client that does not read does not hold up the others", async () => {
  const t = await startTestHub();
  try {
    const stalled = await t.api("/api/v1/events"); // never read
    const reader = await t.api("/api/v1/events");
    for (let i = 0; i < 300; i++) await emit(t, "custom.bulk", { i, pad: "x".repeat(500) });
    const frames = await readFrames(reader, 300);
    assert.equal(frames.length, 300);
    await stalled.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("POST /api/v1/events publishes custom.* events and refuses other types with 422", async () => {
  const t = await startTestHub();
  try {
    const bad = await t.api("/api/v1/events", { method: "POST", json: { type: "task.done", data: {} } });
    assert.equal(bad.status, 422);
    assert.equal((await bad.json()).error.details[0].field, "type");
    const ok = await t.api("/api/v1/events", { method: "POST", json: { type: "custom.ping", data: { a: 1 } } });
    assert.equal(ok.status, 201);
    const event = await ok.json();
    const recent = await (await t.api("/api/v1/events/recent?types=custom.*")).json();
    assert.equal(recent.items[0].id, event.id);
  } finally {
    await t.close();
  }
});

Deno.test("SSE: the stream opens with retry and an open comment, then sends a ping when idle", async () => {
  const t = await startTestHub({ env: { SHLYUZ_SSE_HEARTBEAT_MS: "1" } });
  try {
    const res = await t.api("/api/v1/events");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes(": ping\n\n")) text += (await reader.read()).value ?? "";
    assert.ok(text.startsWith("retry: 3000\n\n: open\n\n"), text.slice(0, 60));
    await reader.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("SSE: a types filter naming a type that is not in the catalogue is a 422 naming types", async () => {
  const t = await startTestHub();
  try {
    const res = await t.api("/api/v1/events?types=task.done,task.dnoe");
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.equal(body.error.details[0].field, "types");
    assert.match(body.error.message, /unknown event type task\.dnoe/);
    const ok = await t.api("/api/v1/events/recent?types=task.*,custom.anything,schedule.run");
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await t.close();
  }
});
