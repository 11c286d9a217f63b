/**
 * Durable routing: an event committed just before a crash — its record is in
 * the event log, but no subscriber ever saw it — still reaches its rule's
 * group after a restart, exactly once; an event routed live before the crash
 * is not sent again when the restarted hub reads the log.
 */
import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { startTelegramFake } from "../fakes/telegram.ts";
import { failedRun, until } from "./_setup.ts";
import { RouteFeed } from "../../lib/notify/route_feed.ts";

async function hubOn(path: string, apiRoot: string, rewrite: (t: TestHub) => void): Promise<TestHub> {
  const t = await startTestHub({ env: { SHLYUZ_KV_PATH: path, TELEGRAM_API_ROOT: apiRoot } });
  rewrite(t);
  return t;
}

Deno.test("an event committed just before a crash is routed after the restart, once; a routed one is not re-sent", async () => {
  const tg = startTelegramFake();
  const dir = await Deno.makeTempDir({ prefix: "shlyuz_route_" });
  const rewrite = (t: TestHub) => tg.rewriteWebhook = (url) => t.url + new URL(url).pathname;
  let t = await hubOn(`${dir}/hub.kv`, tg.apiRoot, rewrite);
  try {
    const token = tg.createBot("alerts_bot");
    let res = await t.api("/api/v1/bots", { method: "POST", json: { token } });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    const group = tg.createGroup("Дежурные");
    await tg.addBotToGroup(token, group.id);
    const chat = await until(async () =>
      (await t.hub.notify.store.listChats(t.org)).find((c) => c.status === "active")
    );
    res = await t.api("/api/v1/rules", {
      method: "POST",
      json: {
        name: "Сбой расписания",
        eventType: "schedule.failed",
        template: "⚠️ {{scheduleName}}",
        targets: [{ chatId: chat.id }],
      },
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();

    // Routed live, before the crash.
    const live = await t.hub.events.publish(
      t.org,
      "schedule.failed",
      failedRun({ scheduleId: "s1", scheduleName: "до сбоя" }),
    );
    assert.ok(live);
    await until(() => tg.messagesIn(group.id).length === 1);

    // Committed, then the process "dies" before the bus fans it out: nothing routes it in this life.
    const op = t.hub.kv.atomic();
    const fanOut = t.hub.events.stage(
      op,
      t.org,
      "schedule.failed",
      failedRun({ scheduleId: "s2", scheduleName: "перед сбоем" }),
    );
    assert.ok((await op.commit()).ok);
    void fanOut; // never called: the crash came first
    await t.hub.notify.idle();
    await t.hub.queue.idle();
    assert.equal(tg.messagesIn(group.id).length, 1, "nothing routed the committed event before the crash");
    await t.close();

    // The restart reads the event log after its cursor.
    t = await hubOn(`${dir}/hub.kv`, tg.apiRoot, rewrite);
    await until(() => tg.messagesIn(group.id).length === 2);
    assert.equal(tg.messagesIn(group.id)[1].text, "⚠️ перед сбоем");
    const cursor = (await t.hub.kv.get<string>(RouteFeed.cursorKey(t.org))).value;
    assert.ok(cursor, "the cursor was written");

    // Reading the log again (another restart, another process, the cron) sends nothing twice.
    assert.equal(await t.hub.notify.feed.sweep([t.org], { upTo: Date.now() }), 0);
    await t.hub.notify.sweep();
    await t.hub.queue.idle();
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(tg.messagesIn(group.id).map((m) => m.text), ["⚠️ до сбоя", "⚠️ перед сбоем"]);
    const deliveries = await t.hub.notify.store.listDeliveries(t.org);
    assert.equal(deliveries.length, 2);
  } finally {
    await t.close();
    await tg.close();
    await Deno.remove(dir, { recursive: true });
  }
});
