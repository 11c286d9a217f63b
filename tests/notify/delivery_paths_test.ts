/**
 * Delivery paths the other tests do not walk: a rule's webhook receives the
 * event as JSON through the guarded fetch (and a 5xx is retried, not lost); a
 * Telegram outage delays a message until Telegram answers again; a forum
 * topic is a target of its own; the delivery log searches and re-sends; the
 * tester takes a recent real event by id.
 */
import assert from "node:assert/strict";
import { failedRun, startNotifyHarness, until } from "./_setup.ts";
import { recordingServer } from "../helpers/recording_server.ts";
import { deliveryId } from "../../lib/notify/router.ts";

Deno.test("a rule's webhook gets the event as JSON through the guarded fetch; a 503 is retried until it answers", async () => {
  const hook = recordingServer((_req, n) => n === 1 ? new Response("busy", { status: 503 }) : new Response("ok"));
  const h = await startNotifyHarness();
  try {
    let res = await h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    await res.body?.cancel();
    const rule = await h.createRule({
      name: "В CRM",
      eventType: "schedule.failed",
      template: "Сбой: <b>{{scheduleName}}</b>: {{reason}}",
      webhookUrl: `${hook.url}/hooks/shlyuz`,
    });
    await h.publish(
      "schedule.failed",
      failedRun({ scheduleId: "s1", scheduleName: "Выгрузка", reason: "502 <Bad Gateway> & тайм-аут" }),
    );
    await until(() => hook.calls.length === 2, { timeoutMs: 10_000 });
    const body = JSON.parse(hook.calls[1].body);
    assert.equal(hook.calls[1].path, "/hooks/shlyuz");
    assert.equal(hook.calls[1].headers.get("content-type"), "application/json");
    assert.equal(body.event.type, "schedule.failed");
    assert.equal(body.data.scheduleName, "Выгрузка");
    assert.deepEqual(body.rule, { id: rule.id, name: "В CRM" });
    assert.equal(body.text, "Сбой: <b>Выгрузка</b>: 502 <Bad Gateway> & тайм-аут", "values are not HTML-escaped");
    const [d] = await h.hub.notify.store.listDeliveries(h.org);
    await until(async () => (await h.hub.notify.store.getDelivery(h.org, d.id))?.status === "sent");
    assert.equal(hook.calls[0].body, hook.calls[1].body, "the retry sends the same body");
    res = await h.api("/api/v1/deliveries?status=sent");
    assert.equal((await res.json()).items[0].channel, "webhook");
  } finally {
    await h.close();
    await hook.close();
  }
});

Deno.test("a Telegram outage (502s) delays a message, never loses it: retried on the queue, then kept for later", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
    // Two 502s: the queue's quick retries get it through.
    h.tg.failNext("sendMessage", { code: 502, description: "Bad Gateway" }, 2);
    let res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text: "живой" } });
    assert.equal(res.status, 202);
    await res.body?.cancel();
    await until(() => h.tg.messagesIn(tgChatId).length === 1, { timeoutMs: 10_000 });
    const [d] = await h.hub.notify.store.listDeliveries(h.org);
    await until(async () => (await h.hub.notify.store.getDelivery(h.org, d.id))?.status === "sent");
    assert.equal((await h.hub.notify.store.getDelivery(h.org, d.id))!.attempts, 3);

    // A longer outage uses up the quick retries: the delivery waits (every 10 minutes, for a day), not failed.
    h.tg.failNext("sendMessage", { code: 502, description: "Bad Gateway" }, 10);
    res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text: "позже" } });
    const [queued] = (await res.json()).items;
    const waiting = await until(async () => {
      const x = await h.hub.notify.store.getDelivery(h.org, queued.id);
      return x && x.attempts >= 3 && x.status === "retrying" && x;
    }, { timeoutMs: 10_000 });
    assert.match(waiting.error!, /502 Bad Gateway/);
    await h.hub.queue.idle();
    assert.equal((await h.hub.notify.store.getDelivery(h.org, queued.id))!.status, "retrying");
    assert.equal((await h.hub.queue.dead.list(h.org, { kind: "notify.send" })).items.length, 0);
    assert.equal((await h.hub.events.recent(h.org, { types: ["notify.failed"] })).length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a forum topic is a target: the message goes to that thread of the group", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Производство", { forum: true });
    await h.createRule({
      name: "В тему «Сбои»",
      eventType: "schedule.failed",
      template: "⚠️ {{scheduleName}}",
      targets: [{ chatId: chat.id, threadId: 42 }],
    });
    await h.publish("schedule.failed", failedRun({ scheduleId: "s1", scheduleName: "Выгрузка" }));
    const [m] = await until(() => h.tg.messagesIn(tgChatId).length === 1 && h.tg.messagesIn(tgChatId));
    assert.equal(m.threadId, 42);
    assert.equal(m.text, "⚠️ Выгрузка");
  } finally {
    await h.close();
  }
});

Deno.test("the delivery log searches by text and status; re-send sends again as a new delivery", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
    for (const text of ["Отгрузка задерживается", "Счёт оплачен"]) {
      const res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds: [chat.id], text } });
      await res.body?.cancel();
    }
    await until(() => h.tg.messagesIn(tgChatId).length === 2);
    await until(async () => (await h.hub.notify.store.listDeliveries(h.org)).every((d) => d.status === "sent"));
    let res = await h.api(`/api/v1/deliveries?q=${encodeURIComponent("СЧЁТ")}`);
    const found = (await res.json()).items;
    assert.deepEqual(found.map((d: { text: string }) => d.text), ["Счёт оплачен"]);
    res = await h.api("/api/v1/deliveries?status=failed");
    assert.deepEqual((await res.json()).items, []);
    res = await h.api(`/api/v1/deliveries/${found[0].id}/resend`, { method: "POST" });
    const again = await res.json();
    assert.ok(res.status < 300, JSON.stringify(again));
    assert.notEqual(again.id, found[0].id);
    await until(() => h.tg.messagesIn(tgChatId).length === 3);
    assert.equal(h.tg.messagesIn(tgChatId)[2].text, "Счёт оплачен");
    const viewer = await h.tokenFor("viewer");
    res = await h.api(`/api/v1/deliveries/${found[0].id}/resend`, { method: "POST", token: viewer });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("the tester takes a recent real event by id and renders what each rule would send", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat } = await h.addGroup(token, "Дежурные");
    const rule = await h.createRule({
      name: "Выгрузки",
      eventType: "schedule.failed",
      enabled: false,
      conditions: [{ field: "scheduleName", op: "contains", value: "выгрузка" }],
      template: "⚠️ <b>{{scheduleName}}</b>",
      targets: [{ chatId: chat.id }],
    });
    await h.publish("schedule.failed", failedRun({ scheduleId: "s1", scheduleName: "Выгрузка <1С>" }));
    const [event] = await h.hub.events.recent(h.org, { types: ["schedule.failed"] });
    let res = await h.api("/api/v1/rules/test", { method: "POST", json: { eventId: event.id } });
    const tried = await res.json();
    assert.equal(res.status, 200, JSON.stringify(tried));
    const mine = tried.results.find((r: { ruleId: string }) => r.ruleId === rule.id);
    assert.deepEqual(
      { matched: mine.matched, enabled: mine.enabled, text: mine.text },
      { matched: true, enabled: false, text: "⚠️ <b>Выгрузка &lt;1С&gt;</b>" },
    );
    res = await h.api("/api/v1/rules/test", { method: "POST", json: { eventId: "01NOSUCHEVENT0000000000000" } });
    assert.equal(res.status, 404);
    await res.body?.cancel();
    await h.hub.queue.idle();
    assert.equal(h.tg.sent.length, 0, "a switched-off rule and the tester send nothing");
  } finally {
    await h.close();
  }
});

Deno.test("a rule's webhook that never answers times out and is retried; a refused connection is retried, not failed", async () => {
  let release = () => {};
  const released = new Promise<Response>((r) => release = () => r(new Response("late")));
  const hook = recordingServer((_req, n) => n === 1 ? released : new Response("ok"));
  const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refusedUrl = `http://127.0.0.1:${(gone.addr as Deno.NetAddr).port}/hook`;
  gone.close();
  const h = await startNotifyHarness({ options: { notify: { webhookTimeoutMs: 300 } } });
  try {
    const res = await h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    await res.body?.cancel();
    await h.createRule({ name: "Молчит", eventType: "schedule.failed", template: "x", webhookUrl: `${hook.url}/h` });
    await h.createRule({ name: "Закрыт", eventType: "schedule.failed", template: "x", webhookUrl: refusedUrl });
    await h.publish("schedule.failed", failedRun({ scheduleId: "s1", scheduleName: "Выгрузка" }));
    await until(() => hook.calls.length === 2, { timeoutMs: 10_000 });
    const deliveries = await h.hub.notify.store.listDeliveries(h.org);
    const silent = deliveries.find((d) => d.target.startsWith(hook.url))!;
    await until(async () => (await h.hub.notify.store.getDelivery(h.org, silent.id))?.status === "sent");
    const refused = deliveries.find((d) => d.target === refusedUrl)!;
    const after = await until(async () => {
      const d = await h.hub.notify.store.getDelivery(h.org, refused.id);
      return d && d.attempts >= 2 ? d : undefined;
    }, { timeoutMs: 10_000 });
    assert.equal(after.status, "retrying", after.error);
    assert.match(after.error ?? "", /Rule webhook is unreachable/);
  } finally {
    release();
    await h.close();
    await hook.close();
  }
});

Deno.test("POST /notifications to 25 chats of 20,000 Cyrillic characters queues them all (over KV's commit limit in one)", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("wide_bot");
    const chatIds: string[] = [];
    for (let i = 0; i < 25; i++) chatIds.push((await h.addGroup(token, `Группа ${i}`)).chat.id);
    const res = await h.api("/api/v1/notifications", { method: "POST", json: { chatIds, text: "Ж".repeat(20_000) } });
    const out = await res.json();
    assert.equal(res.status, 202, JSON.stringify(out).slice(0, 300));
    const queued = await h.hub.notify.store.listDeliveries(h.org);
    assert.deepEqual(new Set(queued.map((d) => d.target)), new Set(chatIds));
  } finally {
    await h.close();
  }
});

Deno.test("a delivery whose lease expired and was taken by another handler leaves that handler's lease in place", async () => {
  const h = await startNotifyHarness();
  let leaseKey: Deno.KvKey = [];
  // While the webhook call is under way, the lease expires and another handler takes it.
  const hook = recordingServer(async () => {
    await h.hub.kv.set(leaseKey, "another handler");
    return new Response("ok");
  });
  try {
    const res = await h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    await res.body?.cancel();
    const rule = await h.createRule({
      name: "В CRM",
      eventType: "schedule.failed",
      template: "x",
      webhookUrl: hook.url,
    });
    const id = await deliveryId("src-1", rule.id, hook.url);
    leaseKey = ["lease", "ndelivery", h.org, id];
    await h.hub.notify.router.route({
      id: "src-1",
      org: h.org,
      type: "schedule.failed",
      at: new Date().toISOString(),
      data: failedRun({ scheduleId: "s1", scheduleName: "Выгрузка" }),
    });
    await until(async () => (await h.hub.notify.store.getDelivery(h.org, id))?.status === "sent");
    assert.equal((await h.hub.kv.get(leaseKey)).value, "another handler");
  } finally {
    await h.close();
    await hook.close();
  }
});
