/**
 * Notification figures (printed, never asserted; `deno task bench notify`):
 * - a backlog of 1,000 mails in one mailbox (real Dovecot over IMAP when it is
 *   installed, else the POP3 fake) delivered to one group: the time from the
 *   poll to the last message against the floor Telegram's per-group limit
 *   sets, and duplicates / missing mails. Telegram allows 20 messages a minute
 *   in a group — 1,000 messages take at least 49 minutes — so the gate and the
 *   fake Telegram run the same limits with their windows compressed ×200
 *   (20 per 300 ms, 5 ms between two messages): the ratio to the floor is
 *   what carries over to the real limits;
 * - rule evaluation per event with 1,000 enabled rules (mixed types,
 *   contains / equals / regex conditions): p50 / p99 / max of
 *   `Router.matching()` over 10,000 events (target ≤ 1 ms p99);
 * - 10,000 events fanned out to 100 groups through 10 bots (one rule per
 *   group), limits compressed ×20: publish-and-route throughput, time to the
 *   last message against the per-group floor, duplicates.
 */
// deno-lint-ignore-file no-console
import { type NotifyHarness, startNotifyHarness } from "../notify/_setup.ts";
import { mail as dovecotMail, startDovecot } from "../notify/_dovecot.ts";
import { mail, startPop3Fake } from "../fakes/mail_server.ts";
import { ruleInputSchema } from "../../lib/notify/rules.ts";
import type { HubEvent } from "../../lib/events/mod.ts";

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const r1 = (n: number) => Math.round(n * 10) / 10;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** Telegram's limits with every window divided by `k` (the gate), and the fake with a little slack. */
function compressed(k: number) {
  return {
    gate: {
      chatGapMs: 1000 / k,
      groupPerMinute: 20,
      groupWindowMs: 60_000 / k,
      botPerSecond: 30,
      botWindowMs: 1000 / k,
    },
    // The fake counts arrivals, the gate counts reservations a few ms earlier: a 10% margin keeps
    // jitter from turning into 429s the hub did not cause.
    fake: { perChatPerSec: 1.5 * k, perChatBurst: 5, perGroupPerMin: 22, groupWindowMs: 60_000 / k },
  };
}

/** The floor of sending `n` messages to one group under the (compressed) gate. */
function groupFloorMs(n: number, k: number): number {
  const { gate } = compressed(k);
  return Math.max((Math.ceil(n / gate.groupPerMinute) - 1) * gate.groupWindowMs, (n - 1) * gate.chatGapMs);
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

async function harness(k: number): Promise<NotifyHarness> {
  const limits = compressed(k);
  const h = await startNotifyHarness({ fake: limits.fake, options: { notify: { rateLimits: limits.gate } } });
  const res = await h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
  await res.body?.cancel();
  return h;
}

async function mailBacklog(n = 1000, k = 200) {
  const h = await harness(k);
  const dovecot = await startDovecot().catch(() => null);
  const pop = dovecot ? null : startPop3Fake({ users: { duty: "duty-password" } });
  try {
    const { token } = await h.addBot("mail_bot");
    const { chat, tgChatId } = await h.addGroup(token, "Почта");
    await h.createRule({
      name: "Вся почта",
      eventType: "mail.received",
      template: "📧 <b>{{subject}}</b>\n{{text}}",
      targets: [{ chatId: chat.id }],
    });
    const fill0 = performance.now();
    for (let i = 0; i < n; i++) {
      const subject = `Письмо ${i}`;
      if (dovecot) await dovecot.deliver(dovecotMail({ subject, body: `Текст ${i}`, messageId: `bench-${i}@x` }));
      else pop!.deliver("duty", mail({ subject, text: `Текст ${i}`, messageId: `<bench-${i}@x>` }));
    }
    const fillMs = performance.now() - fill0;
    const res = await h.api("/api/v1/mailboxes", {
      method: "POST",
      json: dovecot
        ? {
          name: "Бэклог",
          protocol: "imap",
          host: "127.0.0.1",
          port: dovecot.imapPort,
          security: "none",
          user: "testuser",
          password: "testpass",
          startFrom: "all",
        }
        : {
          name: "Бэклог",
          protocol: "pop3",
          host: pop!.host,
          port: pop!.port,
          security: "none",
          user: "duty",
          password: "duty-password",
          startFrom: "all",
        },
    });
    const box = await res.json();
    if (res.status !== 201) throw new Error(`mailbox: ${JSON.stringify(box)}`);
    const t0 = performance.now();
    const polled = await h.hub.notify.mailboxes.poll(h.org, box.id);
    const ingestMs = performance.now() - t0;
    const done = await waitFor(() => h.tg.messagesIn(tgChatId).length >= n, 300_000);
    const totalMs = performance.now() - t0;
    await h.hub.queue.idle();
    const texts = h.tg.messagesIn(tgChatId).map((m) => m.text);
    const unique = new Set(texts);
    const floor = groupFloorMs(n, k);
    return {
      server: dovecot ? "Dovecot IMAP" : "POP3 fake",
      mails: n,
      fetched: polled?.fetched ?? 0,
      "backlog filled s": r1(fillMs / 1000),
      "poll (fetch, parse, route) s": r1(ingestMs / 1000),
      "to the last message s": r1(totalMs / 1000),
      "per-group floor s (×200 compressed)": r1(floor / 1000),
      "time / floor": r3(totalMs / floor),
      "all delivered": done ? "yes" : "no",
      duplicates: texts.length - unique.size,
      missing: n - unique.size,
      "429s from the fake": h.tg.calls.filter((c) => c.method === "sendmessage").length - texts.length,
    };
  } finally {
    await h.close();
    await dovecot?.stop();
    await pop?.close();
  }
}

const TYPES = ["schedule.failed", "mail.received", "task.failed", "onec.unassigned", "connector.offline"] as const;

function sampleEvent(i: number): HubEvent {
  const type = TYPES[i % TYPES.length];
  const data: Record<string, Record<string, unknown>> = {
    "schedule.failed": {
      runId: String(i),
      scheduleId: `s${i % 50}`,
      scheduleName: `Выгрузка ${i % 50}`,
      outcome: "failed",
      trigger: "schedule",
      plannedAt: new Date().toISOString(),
      timezone: "Europe/Moscow",
      reason: `HTTP ${500 + (i % 4)}`,
    },
    "mail.received": {
      mailboxId: "m1",
      mailbox: "Бухгалтерия",
      dedupeKey: `k${i}`,
      messageId: `<${i}@x>`,
      from: `client${i % 30}@example.ru`,
      to: "buh@example.ru",
      subject: `Счёт №${i} оплачен`,
      text: "Добрый день! ".repeat(40),
      attachments: [],
    },
    "task.failed": { task_id: i, task_type: "email", reason: "DaData rejected the API key", source: "rest" },
    "onec.unassigned": {
      requestId: "r",
      onecId: `Z-${i}`,
      title: "Задача",
      calculation: `Участок ${i % 7}`,
      op: "created",
      responsible: { id: 2, name: "Начальник" },
      unassigned: true,
      why: "нет участка",
    },
    "connector.offline": { connectorId: `c${i % 9}`, name: `Цех ${i % 9}`, reason: "socket closed" },
  };
  return { id: String(i).padStart(26, "0"), org: "bench", type, at: new Date().toISOString(), data: data[type] };
}

function benchRule(i: number) {
  const type = TYPES[i % TYPES.length];
  const field: Record<string, string> = {
    "schedule.failed": "scheduleName",
    "mail.received": "subject",
    "task.failed": "reason",
    "onec.unassigned": "calculation",
    "connector.offline": "name",
  };
  const op = (["contains", "equals", "regex"] as const)[i % 3];
  const value = op === "regex"
    ? `^(Счёт|Выгрузка|Участок|Цех) ${i % 13}\\d*`
    : op === "equals"
    ? `Цех ${i % 9}`
    : `${i % 17}`;
  return ruleInputSchema.parse({
    name: `r${i}`,
    eventType: i % 10 === 0 ? `${type.split(".")[0]}.*` : type,
    match: i % 2 ? "all" : "any",
    conditions: [
      { field: field[type], op, value },
      ...(i % 4 === 0 ? [{ field: "event.type", op: "contains", value: "." }] : []),
    ],
    template: "{{event.type}}",
    targets: [{ chatId: "none" }],
  });
}

async function ruleEvaluation(rules = 1000, events = 10_000) {
  const h = await startNotifyHarness();
  try {
    for (let i = 0; i < rules; i++) await h.hub.notify.rules.create(h.org, benchRule(i));
    const compiled = await h.hub.notify.router.compiled(h.org);
    const times: number[] = [];
    let matched = 0;
    for (let i = 0; i < 500; i++) h.hub.notify.router.matching(compiled, sampleEvent(i)); // warm-up
    for (let i = 0; i < events; i++) {
      const e = sampleEvent(i);
      const t = performance.now();
      matched += h.hub.notify.router.matching(compiled, e).length;
      times.push(performance.now() - t);
    }
    return {
      rules: compiled.all.length,
      events,
      "rules matched per event (mean)": r1(matched / events),
      "match ms p50": r3(pct(times, 50)),
      "match ms p99": r3(pct(times, 99)),
      "match ms max": r3(Math.max(...times)),
    };
  } finally {
    await h.close();
  }
}

async function fanOut(events = 10_000, groups = 100, bots = 10, k = 20) {
  const h = await harness(k);
  try {
    const botList = [];
    for (let b = 0; b < bots; b++) botList.push(await h.addBot(`fan_bot_${b}`));
    const chats: number[] = [];
    for (let g = 0; g < groups; g++) {
      const bot = botList[g % bots];
      const { chat, tgChatId } = await h.addGroup(bot.token, `Группа ${g}`);
      chats.push(tgChatId);
      await h.createRule({
        name: `g${g}`,
        eventType: "schedule.failed",
        conditions: [{ field: "scheduleName", op: "equals", value: `g${g}` }],
        template: "⚠️ {{scheduleName}} #{{runId}}",
        botId: bot.id,
        targets: [{ chatId: chat.id }],
      });
    }
    const t0 = performance.now();
    for (let i = 0; i < events; i++) {
      await h.hub.events.publish(h.org, "schedule.failed", {
        runId: String(i),
        scheduleId: `s${i % groups}`,
        scheduleName: `g${i % groups}`,
        outcome: "failed",
        trigger: "schedule",
        plannedAt: new Date().toISOString(),
        timezone: "Europe/Moscow",
      });
    }
    const publishMs = performance.now() - t0;
    await h.hub.notify.idle();
    const routedMs = performance.now() - t0;
    const done = await waitFor(() => h.tg.sent.length >= events, 600_000);
    const totalMs = performance.now() - t0;
    await h.hub.queue.idle();
    const texts = h.tg.sent.map((m) => `${m.chatId} ${m.text}`);
    const perGroup = Math.ceil(events / groups);
    const floor = groupFloorMs(perGroup, k);
    return {
      events,
      groups,
      bots,
      "publish s": r1(publishMs / 1000),
      "published and routed per s": Math.round(events / (routedMs / 1000)),
      "to the last message s": r1(totalMs / 1000),
      "messages per s": Math.round(h.tg.sent.length / (totalMs / 1000)),
      "per-group floor s (×20 compressed)": r1(floor / 1000),
      "time / floor": r3(totalMs / floor),
      "all delivered": done ? "yes" : "no",
      duplicates: texts.length - new Set(texts).size,
      "groups reached": new Set(h.tg.sent.map((m) => m.chatId)).size,
    };
  } finally {
    await h.close();
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const backlog = await mailBacklog();
  console.log("mail backlog", backlog);
  const rules = await ruleEvaluation();
  console.log("rule evaluation", rules);
  const fan = await fanOut();
  console.log("fan-out", fan);
  const figures: Record<string, number | string> = {};
  for (const [prefix, part] of [["backlog", backlog], ["rules", rules], ["fan-out", fan]] as const) {
    for (const [k, v] of Object.entries(part)) figures[`${prefix}: ${k}`] = v;
  }
  return figures;
}

if (import.meta.main) await run();
