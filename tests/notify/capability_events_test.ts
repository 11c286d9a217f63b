/**
 * Every other capability's events reach a Telegram group through a saved
 * rule, each produced by the real capability, not by publishing it by hand:
 * a schedule whose HTTP action fails (schedule.failed), a 1C request
 * (onec.task.created, and onec.unassigned for a calculation no section
 * takes), an enrichment task DaData refuses, which is dead-lettered
 * (task.failed, and the dead-letter list has it), a connector that
 * disconnects (connector.offline) and an agent's poll that finds a ticket
 * past its SLA (sla.breached).
 */
import assert from "node:assert/strict";
import { type NotifyHarness, startNotifyHarness, until } from "./_setup.ts";
import { recordingServer } from "../helpers/recording_server.ts";
import { TestClock } from "../helpers/clocks.ts";
import { startBitrix24Fake } from "../fakes/bitrix24.ts";
import { startDadataFake } from "../fakes/dadata.ts";
import { FAKE_USER, startTicketSystemFake } from "../fakes/ticket_system.ts";
import { request } from "../helpers/onec.ts";
import { Agent } from "../../lib/connector/agent.ts";
import { HttpTicketAdapter } from "../../lib/connector/http_adapter.ts";
import { createConnector, RawClient } from "../connector/_helpers.ts";

/** A bot, a group it was added to, and a rule on `eventType` for that group; returns the Telegram chat id. */
async function groupWithRule(h: NotifyHarness, rule: Record<string, unknown>): Promise<number> {
  const { token } = await h.addBot("alerts_bot");
  const { chat, tgChatId } = await h.addGroup(token, "Дежурные");
  await h.createRule({ name: "правило", targets: [{ chatId: chat.id }], ...rule });
  return tgChatId;
}

async function addRule(h: NotifyHarness, tgChatId: number, rule: Record<string, unknown>) {
  const chat = (await h.chats()).find((c) => c.tgChatId === tgChatId)!;
  await h.createRule({ name: "ещё правило", targets: [{ chatId: chat.id }], ...rule });
}

const texts = (h: NotifyHarness, chatId: number) => h.tg.messagesIn(chatId).map((m) => m.text);

Deno.test("scheduler: a schedule whose endpoint answers 500 reaches the group through a schedule.failed rule", async () => {
  const target = recordingServer(() => new Response("упало", { status: 500 }));
  const h = await startNotifyHarness();
  try {
    const chatId = await groupWithRule(h, {
      eventType: "schedule.failed",
      conditions: [{ field: "scheduleName", op: "contains", value: "выгрузка" }],
      template: "⚠️ <b>{{scheduleName}}</b>: HTTP {{httpStatus}}",
    });
    let res = await h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    await res.body?.cancel();
    res = await h.api("/api/v1/schedules", {
      method: "POST",
      json: {
        name: "Ночная выгрузка",
        cron: "0 3 * * *",
        timezone: "Europe/Moscow",
        action: { type: "http", url: `${target.url}/export` },
        retry: { attempts: 0, backoffMs: 100 },
      },
    });
    assert.equal(res.status, 201);
    const schedule = await res.json();
    res = await h.api(`/api/v1/schedules/${schedule.id}/run`, { method: "POST" });
    assert.equal(res.status, 202);
    await res.body?.cancel();
    await until(() => texts(h, chatId).length === 1, { timeoutMs: 10_000 });
    assert.deepEqual(texts(h, chatId), ["⚠️ <b>Ночная выгрузка</b>: HTTP 500"]);
    assert.equal(target.calls.length, 1);
  } finally {
    await h.close();
    await target.close();
  }
});

Deno.test("1C: a request's created task and its unassigned one reach the group through onec rules", async () => {
  const bitrix = await startBitrix24Fake();
  const h = await startNotifyHarness({ env: { BITRIX_WEBHOOK: bitrix.webhookUrl }, clock: new TestClock() });
  try {
    const chatId = await groupWithRule(h, {
      eventType: "onec.task.created",
      template: "✅ {{onecId}} → задача {{taskId}}, {{responsible.name}}",
    });
    await addRule(h, chatId, { eventType: "onec.unassigned", template: "❗ {{onecId}}: {{why}}" });
    const res = await h.api("/", {
      method: "POST",
      json: { tasks: [...request("С-1", "Сварочный участок").tasks, ...request("Г-1", "Гальваника").tasks] },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { message: "ok" });
    await until(() => texts(h, chatId).length === 3, { timeoutMs: 10_000 });
    const got = texts(h, chatId).sort();
    assert.equal(got.filter((t) => t.startsWith("✅ С-1 → задача ")).length, 1);
    assert.equal(got.filter((t) => t.startsWith("✅ Г-1 → задача ")).length, 1);
    assert.ok(got.includes("❗ Г-1: нет участка производства для калькуляции «Гальваника»"), got.join(" | "));
  } finally {
    await h.close();
    await bitrix.close();
  }
});

Deno.test("enrichment: a task DaData refuses is dead-lettered and reaches the group through a task.failed rule", async () => {
  const dadata = await startDadataFake();
  const h = await startNotifyHarness({
    env: { DADATA_BASE_URL: dadata.url, DADATA_API_KEY: "wrong-key", DADATA_SECRET_KEY: "wrong-secret" },
    options: { enrichment: { retryBaseMs: 1, roundDelaysMs: [20, 40] } },
  });
  try {
    const chatId = await groupWithRule(h, {
      eventType: "task.failed",
      template: "⚠️ задача {{task_id}} ({{task_type}}): {{reason}}",
    });
    const res = await h.api("/api/v1/tasks", {
      method: "POST",
      headers: { prefer: "respond-async" },
      json: { task_id: 77, task_type: "email", data: "serega@yandex/ru" },
    });
    assert.equal(res.status, 202);
    await res.body?.cancel();
    await until(() => texts(h, chatId).length === 1, { timeoutMs: 10_000 });
    assert.match(texts(h, chatId)[0], /^⚠️ задача 77 \(email\): DaData rejected the API key/);
    const dead = await (await h.api("/api/v1/dead-letters")).json();
    assert.equal(dead.items.length, 1, JSON.stringify(dead));
    assert.match(dead.items[0].reason, /DaData rejected the API key/);
  } finally {
    await h.close();
    await dadata.close();
  }
});

Deno.test("connectors: a connector going away and a ticket past its SLA reach the group through their rules", async () => {
  const tickets = await startTicketSystemFake();
  const h = await startNotifyHarness();
  let agent: Agent | null = null;
  try {
    const chatId = await groupWithRule(h, {
      eventType: "connector.offline",
      conditions: [{ field: "name", op: "equals", value: "Цех 2" }],
      template: "🔌 {{name}} не на связи: {{reason}}",
    });
    await addRule(h, chatId, {
      eventType: "sla.breached",
      template: "⏰ SLA нарушен: {{ticketId}} «{{title}}»",
    });
    // A connector that authenticates and then drops its socket.
    const raw = new RawClient(h.url);
    await raw.auth(await createConnector(h, "Цех 2"));
    assert.ok(await raw.next("welcome"));
    await raw.close();
    await until(() => texts(h, chatId).some((t) => t.startsWith("🔌 Цех 2 не на связи")), { timeoutMs: 10_000 });

    // A real agent answers a poll; one ticket is two hours past its deadline.
    const now = tickets.now();
    tickets.upsert({
      number: "T-1",
      subject: "Нет связи в цехе",
      created_at: new Date(now - 5 * 3600_000).toISOString(),
      sla_deadline: new Date(now - 2 * 3600_000).toISOString(),
    });
    tickets.upsert({
      number: "T-2",
      subject: "В срок",
      created_at: new Date(now - 3600_000).toISOString(),
      sla_deadline: new Date(now + 5 * 3600_000).toISOString(),
    });
    agent = new Agent({
      server: h.url,
      ...(await createConnector(h, "Цех 1")),
      adapter: new HttpTicketAdapter({
        baseUrl: tickets.url,
        email: FAKE_USER.email,
        password: FAKE_USER.password,
        retryMs: [10, 20],
      }),
      filters: { arrears: "f-arrears", stopped: "f-stopped" },
      backoff: { baseMs: 20, maxMs: 200 },
      print: () => {},
    });
    agent.start();
    await agent.waitFor((a) => a.state === "online");
    await h.hub.connectors.dispatcher.pollNow(h.org);
    await until(() => texts(h, chatId).some((t) => t.startsWith("⏰")), { timeoutMs: 10_000 });
    assert.deepEqual(texts(h, chatId).filter((t) => t.startsWith("⏰")), ["⏰ SLA нарушен: T-1 «Нет связи в цехе»"]);
    assert.equal(texts(h, chatId).filter((t) => t.startsWith("🔌")).length, 1, "the rule's condition kept Цех 1 out");
  } finally {
    await agent?.stop();
    await h.close();
    await tickets.shutdown();
  }
});
