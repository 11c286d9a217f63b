import assert from "node:assert/strict";
import { failedRun, startNotifyHarness, until } from "./_setup.ts";

Deno.test("saving a rule checks fields and placeholders against the event's schema, regexes, targets and the webhook address", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat } = await h.addGroup(token, "Дежурные");
    const bad = await h.api("/api/v1/rules", {
      method: "POST",
      json: {
        name: "x",
        eventType: "mail.received",
        conditions: [{ field: "subjct", op: "contains", value: "a" }, {
          field: "subject",
          op: "regex",
          value: "(a+)+",
        }],
        template: "{{sender}}",
        targets: [{ chatId: "nope" }],
        webhookUrl: "http://169.254.169.254/latest",
      },
    });
    assert.equal(bad.status, 422);
    const body = await bad.json();
    const text = body.error.message as string;
    assert.match(text, /conditions\.0\.field: the event has no field subjct/);
    assert.match(text, /conditions\.1\.value: nested repetition/);
    assert.match(text, /template: the event mail\.received has no field sender/);
    assert.match(text, /targets\.0\.chatId: no such group or contact/);
    assert.match(text, /webhookUrl: .*link-local, metadata and reserved addresses are always refused/);

    const own = await h.api("/api/v1/rules", {
      method: "POST",
      json: { name: "loop", eventType: "notify.sent", targets: [{ chatId: chat.id }] },
    });
    assert.equal(own.status, 422);
    await own.body?.cancel();

    const ok = await h.createRule({
      name: "Почта",
      eventType: "mail.received",
      conditions: [{ field: "subject", op: "contains", value: "счёт" }],
      template: "📧 {{from}}: {{subject}} ({{event.type}})",
      targets: [{ chatId: chat.id }],
    });
    const list = await (await h.api("/api/v1/rules")).json();
    // The presets are there, switched off.
    assert.ok(
      list.items.some((r: { preset?: string; enabled: boolean }) => r.preset === "schedule.failed" && !r.enabled),
    );
    assert.ok(list.items.some((r: { id: string }) => r.id === ok.id));
    // Dead letters of every area have their preset too (queue.dead_lettered, from lib/queue).
    assert.ok(
      list.items.some((r: { preset?: string; enabled: boolean }) => r.preset === "queue.dead_lettered" && !r.enabled),
    );

    const tried = await (await h.api("/api/v1/rules/test", {
      method: "POST",
      json: { type: "mail.received", data: { from: "buh@example.ru", subject: "Счёт <42>" } },
    })).json();
    const mine = tried.results.find((r: { ruleId: string }) => r.ruleId === ok.id);
    assert.equal(mine.matched, true);
    assert.equal(mine.text, "📧 buh@example.ru: Счёт &lt;42&gt; (mail.received)");
    assert.deepEqual(mine.targets, ["Дежурные"]);
    assert.equal(h.tg.sent.length, 0, "the tester sends nothing");
  } finally {
    await h.close();
  }
});

Deno.test("a repeat window notifies once per key; a digest collapses a burst into one message", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
    await h.createRule({
      name: "Расписание",
      eventType: "schedule.failed",
      template: "{{scheduleName}} #{{runId}}",
      targets: [{ chatId: chat.id }],
      repeatMinutes: 30,
      repeatKey: "{{scheduleId}}",
    });
    for (let i = 0; i < 3; i++) {
      await h.publish("schedule.failed", failedRun({ scheduleId: "s1", scheduleName: "A", runId: i }));
    }
    await h.publish("schedule.failed", failedRun({ scheduleId: "s2", scheduleName: "B", runId: 9 }));
    await h.hub.notify!.idle();
    await until(() => h.tg.messagesIn(tgChatId).length === 2);
    // Events are routed concurrently: whichever of s1's three came first is the one sent.
    const sent = h.tg.messagesIn(tgChatId).map((m) => m.text).sort();
    assert.equal(sent.filter((t) => t.startsWith("A #")).length, 1);
    assert.equal(sent[1], "B #9");

    const digest = await h.createRule({
      name: "Задачи",
      eventType: "task.failed",
      template: "{{task_id}}: {{reason}}",
      targets: [{ chatId: chat.id }],
      digestMinutes: 5,
    });
    for (let i = 1; i <= 4; i++) {
      await h.publish("task.failed", { task_id: i, task_type: "phone", reason: "timeout", source: "rest" });
    }
    await h.hub.notify!.idle();
    // The digest message is due in 5 minutes; deliver it now as the queue would.
    const open = await h.hub.kv.get<string>(["ndigest_open", h.org, digest.id]);
    assert.ok(open.value);
    await h.hub.queue.handle({
      v: 1,
      kind: "notify.digest",
      org: h.org,
      id: "d1",
      payload: { ruleId: digest.id, window: open.value },
    });
    await h.hub.queue.handle({
      v: 1,
      kind: "notify.digest",
      org: h.org,
      id: "d1",
      payload: { ruleId: digest.id, window: open.value },
    });
    await until(() => h.tg.messagesIn(tgChatId).length === 3);
    const text = h.tg.messagesIn(tgChatId)[2].text;
    assert.match(text, /^<b>4 события за 5 мин — Задачи<\/b>/);
    for (let i = 1; i <= 4; i++) assert.ok(text.includes(`• ${i}: timeout`));
    await h.hub.queue.idle();
    assert.equal(h.tg.messagesIn(tgChatId).length, 3);
  } finally {
    await h.close();
  }
});
