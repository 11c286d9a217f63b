/**
 * What one KV commit can carry: a digest of many large items and a rule with
 * many targets of a large text stay inside KV's limits (64 KiB a value,
 * 800 KiB a commit), and an item routed while a digest is being read is not
 * lost with the window.
 */
import assert from "node:assert/strict";
import { startNotifyHarness } from "./_setup.ts";
import type { HubEvent } from "../../lib/events/mod.ts";
import { DIGEST_ITEM_MAX, DIGEST_TEXT_MAX, Router } from "../../lib/notify/router.ts";
import type { DeliveryRecord } from "../../lib/notify/store.ts";
import { ruleInputSchema } from "../../lib/notify/rules.ts";

const big = (n: number) => "Ж".repeat(n);

function failed(org: string, i: number, reason: string): HubEvent {
  return {
    id: `01JTEST${String(i).padStart(19, "0")}`,
    org,
    type: "task.failed",
    at: new Date().toISOString(),
    data: { task_id: i, task_type: "phone", reason, source: "rest" },
  };
}

async function deliveriesOf(kv: Deno.Kv, org: string, ruleId: string): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  for await (const e of kv.list<DeliveryRecord>({ prefix: ["ndelivery", org] })) {
    if (e.value.ruleId === ruleId) out.push(e.value);
  }
  return out;
}

Deno.test("a digest of 50 items of 20,000 Cyrillic characters is sent, its items and text capped", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("digest_bot");
    const { chat } = await h.addGroup(token, "Сводка");
    const rule = await h.hub.notify.rules.create(
      h.org,
      ruleInputSchema.parse({
        name: "Сводка",
        eventType: "task.failed",
        template: "<b>{{task_id}}</b> {{reason}}",
        targets: [{ chatId: chat.id }],
        digestMinutes: 5,
      }),
    );
    for (let i = 1; i <= 50; i++) await h.hub.notify.router.route(failed(h.org, i, big(20_000)));
    for await (const e of h.hub.kv.list<string>({ prefix: ["ndigest_item", h.org, rule.id] })) {
      assert.ok(e.value.length <= DIGEST_ITEM_MAX, `item of ${e.value.length} characters`);
      assert.ok(!e.value.includes("<b>"), "a cut item is plain text, no tag left open");
    }
    const window = (await h.hub.kv.get<string>(["ndigest_open", h.org, rule.id])).value!;
    assert.equal(await h.hub.notify.router.digest(h.org, { ruleId: rule.id, window }), 1);
    const [d] = await deliveriesOf(h.hub.kv, h.org, rule.id);
    assert.ok(d.text.length <= DIGEST_TEXT_MAX, `digest of ${d.text.length} characters`);
    assert.match(d.text, /^<b>50 событий за 5 мин — Сводка<\/b>\n• /);
    assert.match(d.text, /\n… и ещё \d+$/);
    assert.equal(await h.hub.notify.router.digest(h.org, { ruleId: rule.id, window }), 0, "once per window");
  } finally {
    await h.close();
  }
});

Deno.test("50 targets of a 10,000-character Cyrillic text: every delivery written (over several commits), once", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("wide_bot");
    const { chat } = await h.addGroup(token, "Все");
    const rule = await h.hub.notify.rules.create(
      h.org,
      ruleInputSchema.parse({
        name: "Широкое",
        eventType: "task.failed",
        template: "{{reason}}",
        targets: Array.from({ length: 50 }, (_, i) => ({ chatId: chat.id, threadId: i + 1 })),
      }),
    );
    const event = failed(h.org, 1, big(10_000));
    assert.equal(await h.hub.notify.router.route(event), 50);
    assert.equal((await deliveriesOf(h.hub.kv, h.org, rule.id)).length, 50);
    assert.equal(await h.hub.notify.router.route(event), 0, "routed once");
    assert.equal((await deliveriesOf(h.hub.kv, h.org, rule.id)).length, 50);
  } finally {
    await h.close();
  }
});

Deno.test("an item routed while digest() reads its window goes to the next window, not lost with this one", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("race_bot");
    const { chat } = await h.addGroup(token, "Гонка");
    const rule = await h.hub.notify.rules.create(
      h.org,
      ruleInputSchema.parse({
        name: "Гонка",
        eventType: "task.failed",
        template: "{{task_id}}",
        targets: [{ chatId: chat.id }],
        digestMinutes: 5,
      }),
    );
    const router = h.hub.notify.router;
    await router.route(failed(h.org, 1, "первое"));
    const window = (await h.hub.kv.get<string>(["ndigest_open", h.org, rule.id])).value!;
    // A digest reading through a KV whose list of items lets event 2 be routed right after it was read.
    let raced = false;
    const kv = new Proxy(h.hub.kv, {
      get(target, prop) {
        if (prop === "list") {
          return async function* (selector: Deno.KvListSelector) {
            const all = await Array.fromAsync(target.list(selector));
            if (!raced && "prefix" in selector && selector.prefix[0] === "ndigest_item") {
              raced = true;
              await router.route(failed(h.org, 2, "второе"));
            }
            yield* all;
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const reading = new Router({
      kv,
      store: h.hub.notify.store,
      rules: h.hub.notify.rules,
      queue: h.hub.queue,
      log: h.hub.log,
      now: () => Date.now(),
    });
    assert.equal(await reading.digest(h.org, { ruleId: rule.id, window }), 1);
    assert.ok(raced);
    const next = (await h.hub.kv.get<string>(["ndigest_open", h.org, rule.id])).value;
    assert.ok(next, "the second item opened a window of its own (its digest is queued with it)");
    const items = await Array.fromAsync(h.hub.kv.list<string>({ prefix: ["ndigest_item", h.org, rule.id, next] }));
    assert.deepEqual(items.map((e) => e.value), ["2"]);
  } finally {
    await h.close();
  }
});
