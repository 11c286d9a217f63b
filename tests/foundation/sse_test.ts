import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";

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
    const a = await t.api("/api/v1/events");
    const b = await t.api("/api/v1/events?types=demo.*");
    assert.equal(a.headers.get("content-type"), "text/event-stream");
    await new Promise((r) => setTimeout(r, 50));
    const published = await t.hub.events.publish(t.org, "demo.hello", { n: 1 });
    await t.hub.events.publish(t.org, "other.thing", { n: 2 });
    const [fa, fb] = await Promise.all([readFrames(a, 2), readFrames(b, 1)]);
    assert.equal(fa[0].id, published.id);
    assert.equal(fa[0].event, "demo.hello");
    assert.deepEqual(JSON.parse(fa[0].data!).data, { n: 1 });
    assert.equal(fa[1].event, "other.thing");
    assert.equal(fb.length, 1);
    assert.equal(fb[0].event, "demo.hello", "the type filter keeps other.thing out");
  } finally {
    await t.close();
  }
});

Deno.test("SSE: resuming with Last-Event-ID delivers the events missed meanwhile, once each", async () => {
  const t = await startTestHub();
  try {
    const first = await t.hub.events.publish(t.org, "demo.a", {});
    const missed1 = await t.hub.events.publish(t.org, "demo.b", {});
    const missed2 = await t.hub.events.publish(t.org, "demo.c", {});
    const res = await t.api("/api/v1/events", { headers: { "last-event-id": first.id } });
    await new Promise((r) => setTimeout(r, 50));
    const live = await t.hub.events.publish(t.org, "demo.d", {});
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
    await new Promise((r) => setTimeout(r, 50));
    await t.hub.events.publish("another-org", "demo.secret", {});
    const mine = await t.hub.events.publish(t.org, "demo.mine", {});
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
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 300; i++) await t.hub.events.publish(t.org, "demo.bulk", { i, pad: "x".repeat(500) });
    const frames = await readFrames(reader, 300);
    assert.equal(frames.length, 300);
    await stalled.body?.cancel();
  } finally {
    await t.close();
  }
});
