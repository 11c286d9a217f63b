import assert from "node:assert/strict";
import { failedRun, startNotifyHarness, until } from "./_setup.ts";
import type { DeliveryRecord } from "../../lib/notify/store.ts";

async function deliveries(h: Awaited<ReturnType<typeof startNotifyHarness>>): Promise<DeliveryRecord[]> {
  return await h.hub.notify!.store.listDeliveries(h.org);
}

Deno.test("a rule routes an event to a group: template filled and HTML-escaped, notify.sent raised, one message per event", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
    await h.createRule({
      name: "Сбой расписания",
      eventType: "schedule.failed",
      conditions: [{ field: "scheduleName", op: "contains", value: "выгрузка" }],
      template: "⚠️ <b>{{scheduleName}}</b>: {{reason}}",
      targets: [{ chatId: chat.id }],
    });
    await h.publish(
      "schedule.failed",
      failedRun({
        scheduleId: "s1",
        scheduleName: "Выгрузка <1С>",
        reason: "HTTP 502 & тайм-аут",
      }),
    );
    await h.publish("schedule.failed", failedRun({ scheduleId: "s2", scheduleName: "Другое", reason: "x" }));
    const [m] = await until(() => h.tg.messagesIn(tgChatId).length === 1 && h.tg.messagesIn(tgChatId));
    assert.equal(m.text, "⚠️ <b>Выгрузка &lt;1С&gt;</b>: HTTP 502 &amp; тайм-аут");
    assert.equal(m.parseMode, "HTML");
    await until(async () => (await deliveries(h)).some((d) => d.status === "sent"));
    await until(async () => (await h.hub.events.recent(h.org, { types: ["notify.sent"] })).length === 1);

    // Routing the same event again (a second process, a redelivery) sends nothing new.
    const ev = (await h.hub.events.recent(h.org, { types: ["schedule.failed"] })).find((e) =>
      e.data.scheduleId === "s1"
    )!;
    assert.equal(await h.hub.notify!.router.route(ev), 0);
    // A redelivered notify.send of the sent delivery is a no-op.
    const [d] = await deliveries(h);
    await h.hub.queue.handle({ v: 1, kind: "notify.send", org: h.org, id: "again", payload: { deliveryId: d.id } });
    await h.hub.queue.idle();
    assert.equal(h.tg.messagesIn(tgChatId).length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("429 retry_after: the message waits and is delivered once", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
    h.tg.failNext("sendMessage", {
      code: 429,
      description: "Too Many Requests: retry after 3",
      parameters: { retry_after: 3 },
    });
    const res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text: "тест" } });
    assert.equal(res.status, 202);
    await res.body?.cancel();
    const retrying = await until(async () => (await deliveries(h)).find((d) => d.status === "retrying"));
    assert.match(retrying.error!, /429 Too Many Requests: retry after 3/);
    await until(() => h.tg.messagesIn(tgChatId).length === 1);
    await until(async () => (await deliveries(h))[0].status === "sent");
    assert.equal(h.tg.messagesIn(tgChatId).length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("403 kicked marks the group and raises notify.failed; another linked bot carries on", async () => {
  const h = await startNotifyHarness();
  try {
    const a = await h.addBot("a_bot");
    const b = await h.addBot("b_bot");
    const { chat, tgChatId } = await h.addGroup(a.token, "Склад");
    // The bot is kicked silently (no update): the next send finds out.
    await h.tg.kickBot(a.token, tgChatId, { notify: false });
    let res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text: "первое" } });
    await res.body?.cancel();
    const failed = await until(async () => (await deliveries(h)).find((d) => d.status === "failed"));
    assert.match(failed.error!, /403 Forbidden: bot was kicked from the group chat/);
    const marked = (await h.chats()).find((c) => c.id === chat.id)!;
    assert.equal(marked.status, "kicked");
    await until(async () => (await h.hub.events.recent(h.org, { types: ["notify.failed"] })).length === 1);

    // Link b_bot (it is in the group) and reactivate: b_bot delivers.
    h.tg.chats.get(tgChatId)!.members.add(h.tg.bots.get(b.token)!.id);
    res = await h.api(`/api/v1/groups/${chat.id}`, { method: "PATCH", json: { botIds: [b.id], status: "active" } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text: "второе" } });
    await res.body?.cancel();
    await until(() => h.tg.messagesIn(tgChatId).length === 1);
    assert.equal(h.tg.messagesIn(tgChatId)[0].botUsername, "b_bot");
  } finally {
    await h.close();
  }
});

Deno.test("a group upgraded to a supergroup: migrate_to_chat_id is followed, no duplicate group, no lost message", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Бухгалтерия");
    // The upgrade's service message is missed (say the hub was down): the send learns it from the 400.
    const fakeBot = h.tg.bots.get(token)!;
    const newId = await h.tg.migrate(tgChatId);
    fakeBot.queue = []; // drop the service update
    const res = await h.api("/api/v1/notifications", {
      method: "POST",
      json: { chatIds: [chat.id], text: "после миграции" },
    });
    await res.body?.cancel();
    await until(() => h.tg.messagesIn(newId).length === 1);
    const chats = await h.chats();
    assert.equal(chats.length, 1);
    assert.equal(chats[0].tgChatId, newId);
    assert.equal(chats[0].migratedFrom, tgChatId);

    // The service message arriving late changes nothing.
    await h.tg.pushUpdate(token, {
      message: {
        message_id: 99,
        date: 1,
        chat: { id: tgChatId, type: "group", title: "Бухгалтерия" },
        migrate_to_chat_id: newId,
      },
    });
    await h.tg.addBotToGroup(token, newId);
    await until(async () => (await h.chats()).every((c) => c.status === "active"));
    assert.equal((await h.chats()).length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("HTML Telegram refuses is re-sent as plain text; a long message is split at 4096", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
    let res = await h.api("/api/v1/notifications", {
      method: "POST",
      json: { chatIds: [chat.id], text: "<x>сломано</x> &nbsp;" },
    });
    await res.body?.cancel();
    const [m] = await until(() => h.tg.messagesIn(tgChatId).length === 1 && h.tg.messagesIn(tgChatId));
    assert.equal(m.parseMode, undefined);
    assert.equal(m.text, "сломано &nbsp;");
    const d = await until(async () => (await deliveries(h)).find((x) => x.status === "sent"));
    assert.equal(d.plainFallback, true);

    const long = Array.from({ length: 700 }, (_, i) => `строка ${i}`).join("\n");
    res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text: long } });
    await res.body?.cancel();
    await until(() => h.tg.messagesIn(tgChatId).length === 3);
    const parts = h.tg.messagesIn(tgChatId).slice(1);
    assert.ok(parts.every((p) => p.text.length <= 4096));
    assert.equal(parts.map((p) => p.text).join("\n"), long);
  } finally {
    await h.close();
  }
});

Deno.test("a revoked token marks the bot and raises bot.failed; the other bots carry on", async () => {
  const h = await startNotifyHarness();
  try {
    const a = await h.addBot("a_bot");
    const b = await h.addBot("b_bot");
    const g1 = await h.addGroup(a.token, "Первая");
    const g2 = await h.addGroup(b.token, "Вторая");
    h.tg.revoke(a.token);
    const res = await h.api("/api/v1/notifications", {
      method: "POST",
      json: { chatIds: [g1.chat.id, g2.chat.id], text: "всем" },
    });
    await res.body?.cancel();
    await until(() => h.tg.messagesIn(g2.tgChatId).length === 1);
    const bot = await until(async () => (await h.hub.notify!.store.getBot(h.org, a.id))?.status === "revoked" && true);
    assert.ok(bot);
    await until(async () => (await h.hub.events.recent(h.org, { types: ["bot.failed"] })).length === 1);
    const failed = await until(async () => (await deliveries(h)).find((d) => d.status === "failed"));
    assert.match(failed.error!, /@a_bot: 401 Unauthorized/);
    assert.equal(h.tg.messagesIn(g1.tgChatId).length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a burst to one group is paced by the gate: every message delivered once, in slots, none left queued", async () => {
  // Telegram's limits with the windows compressed ×100 (20 per 600 ms in a group, 10 ms apart), so the
  // burst spans several windows in about two seconds.
  const h = await startNotifyHarness({
    fake: { perChatPerSec: 150, perChatBurst: 5, perGroupPerMin: 22, groupWindowMs: 600 },
    options: { notify: { rateLimits: { chatGapMs: 10, groupPerMinute: 20, groupWindowMs: 600, botWindowMs: 10 } } },
  });
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
    const texts = Array.from({ length: 80 }, (_, i) => `сообщение ${i}`);
    for (const text of texts) {
      const res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text } });
      assert.equal(res.status, 202);
      await res.body?.cancel();
    }
    await until(() => h.tg.messagesIn(tgChatId).length === texts.length, { timeoutMs: 20_000 });
    await until(async () => (await deliveries(h)).every((d) => d.status === "sent"), { timeoutMs: 5000 });
    assert.deepEqual(h.tg.messagesIn(tgChatId).map((m) => m.text).sort(), [...texts].sort());
  } finally {
    await h.close();
  }
});
