import assert from "node:assert/strict";
import { EventBus } from "../../lib/events/bus.ts";
import { CATALOGUE, gatherCatalogue } from "../../lib/events/catalogue.ts";
import { defineEvent } from "../../lib/events/define.ts";
import { memoryLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { z } from "zod";

async function withBus(
  strict: boolean,
  fn: (bus: EventBus, kv: Deno.Kv, log: ReturnType<typeof memoryLogger>, metrics: Metrics) => Promise<void>,
) {
  const kv = await Deno.openKv(":memory:");
  const log = memoryLogger("info");
  const metrics = new Metrics();
  const bus = new EventBus(kv, { log, metrics, channel: null, strict });
  try {
    await fn(bus, kv, log, metrics);
  } finally {
    bus.close();
    kv.close();
  }
}

async function stored(kv: Deno.Kv, org: string): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: ["event", org] })) n++;
  return n;
}

Deno.test("publish() refuses a type that is not in the catalogue: a type error, and a TypeError at run time when strict", async () => {
  await withBus(true, async (bus, kv) => {
    await assert.rejects(
      // @ts-expect-error: "task.finished" is not an event type (deno check verifies this line stays an error)
      () => bus.publish("o1", "task.finished", { count: 1 }),
      {
        name: "TypeError",
        message: /^Cannot publish event task\.finished: task\.finished is not in the event catalogue/,
      },
    );
    assert.equal(await stored(kv, "o1"), 0);
  });
});

Deno.test("publish() refuses data that breaks the type's schema, naming the field", async () => {
  await withBus(true, async (bus, kv) => {
    await assert.rejects(
      // @ts-expect-error: task_id must be a number or null (deno check verifies this line stays an error)
      () => bus.publish("o1", "task.failed", { task_id: "7", task_type: "clean_address", reason: "x", source: "rest" }),
      {
        name: "TypeError",
        message: /^Cannot publish event task\.failed: its data does not match the schema: task_id: /,
      },
    );
    await assert.rejects(
      // @ts-expect-error: reason and source are missing
      () => bus.publish("o1", "task.failed", { task_id: 7, task_type: "clean_address" }),
      /reason: .*; source: /,
    );
    assert.equal(await stored(kv, "o1"), 0);
  });
});

Deno.test("publish() outside strict mode logs, counts and drops a bad event, and answers null", async () => {
  await withBus(false, async (bus, kv, log, metrics) => {
    const seen: string[] = [];
    bus.subscribeAll((e) => seen.push(e.type));
    // @ts-expect-error: count is missing
    assert.equal(await bus.publish("o1", "task.done", { results: [] }), null);
    // @ts-expect-error: not in the catalogue
    assert.equal(await bus.publish("o1", "nope.never", {}), null);
    assert.equal(await stored(kv, "o1"), 0);
    assert.deepEqual(seen, []);
    assert.equal(log.lines.filter((l) => l.includes("event rejected")).length, 2);
    const text = await metrics.render();
    assert.match(text, /shlyuz_events_rejected_total\{type="task\.done"\} 1/);
    assert.match(text, /shlyuz_events_rejected_total\{type="unknown"\} 1/);
  });
});

Deno.test("publish() stores the parsed data: fields the schema does not declare are left out", async () => {
  await withBus(true, async (bus, kv) => {
    const extra = { task_id: 7, task_type: "clean_address", reason: "x", source: "rest", apiKey: "secret-value" };
    const event = (await bus.publish("o1", "task.failed", extra))!;
    assert.deepEqual(event.data, { task_id: 7, task_type: "clean_address", reason: "x", source: "rest" });
    const [one] = await bus.since("o1");
    assert.deepEqual(one, event);
    assert.equal(await stored(kv, "o1"), 1);
  });
});

Deno.test("publish() accepts custom.<name> with free-form data and refuses a malformed custom type", async () => {
  await withBus(true, async (bus) => {
    const event = (await bus.publish("o1", "custom.ping", { a: 1, nested: { b: [1, 2] } }))!;
    assert.equal(event.type, "custom.ping");
    await assert.rejects(() => bus.publish("o1", "custom.Не так", {}), /not in the event catalogue/);
    // "custom.*" names the family in the catalogue; it is not a type one publishes (the type allows it, the bus does not)
    await assert.rejects(() => bus.publish("o1", "custom.*", {}), /not in the event catalogue/);
  });
});

Deno.test("the catalogue: every type has a Russian and an English title, a description and an object schema", () => {
  const types = Object.keys(CATALOGUE);
  for (const expected of ["task.done", "task.failed", "schedule.run", "schedule.failed", "onec.task.failed"]) {
    assert.ok(types.includes(expected), expected);
  }
  for (const [type, def] of Object.entries(CATALOGUE)) {
    assert.match(type, /^[a-z]+(\.[a-z_]+)*(\.\*)?$/, type);
    assert.ok(def.title.ru && /[а-яё]/i.test(def.title.ru), `${type}: a Russian title`);
    assert.ok(def.title.en, `${type}: an English title`);
    assert.ok(def.description.length > 10, `${type}: a description`);
    assert.equal(z.toJSONSchema(def.schema, { unrepresentable: "any" }).type, "object", `${type}: data is an object`);
  }
});

Deno.test("gatherCatalogue() refuses a type declared by two capabilities", () => {
  const a = { "x.done": defineEvent({ title: { ru: "Готово", en: "Done" }, description: "x", schema: z.object({}) }) };
  const b = { "x.done": defineEvent({ title: { ru: "Готово", en: "Done" }, description: "y", schema: z.object({}) }) };
  assert.throws(() => gatherCatalogue(a, b), /the event type x\.done is declared twice/);
  assert.deepEqual(Object.keys(gatherCatalogue(a)), ["x.done"]);
});
