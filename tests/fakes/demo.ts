/**
 * `deno task demo`: the hub with local fakes of Bitrix24, DaData and
 * YandexGPT wired in and sample data, so a newcomer with no credentials and
 * no internet sees every page alive. KV lives in memory: each start is fresh.
 *
 * Log in at http://127.0.0.1:8000/admin as demo@shlyuz.local / demo-password.
 */
// deno-lint-ignore-file no-console
import { startBitrix24Fake } from "./bitrix24.ts";
import { startDadataFake } from "./dadata.ts";
import { startYandexGptFake } from "./yandexgpt.ts";
import { sampleRequest } from "../../lib/onec/request_schema.ts";
import { startTelegramFake, type TelegramFake } from "./telegram.ts";
import { startSlaDemo } from "./demo_sla.ts";
import { type FakeMail, mail, startPop3Fake } from "./mail_server.ts";

const DEMO_TOKEN = "shz_demo_owner_token_0123456789abcdef";
const port = Number(Deno.env.get("PORT") ?? 8000);

/** Calls the demo hub with the owner token; logs (does not throw on) a refused call. */
export async function call(base: string, path: string, body?: unknown, method = body === undefined ? "GET" : "POST") {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${DEMO_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) console.warn(`demo: ${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
  return text;
}

/** Sample data for every area, through the public API (so it also shows how to use it). */
/**
 * Notifications: a bot in the fake Telegram, a group it was added to (registered by the hub's
 * poller from `my_chat_member`), the "schedule failed" preset switched on for that group, a rule
 * for demo events and one for mail, a schedule that fails every minute and a mailbox on a local
 * POP3 server that gets a mail every minute — so failures and mail arrive in the fake Telegram's
 * chat view.
 */
async function seedNotify(base: string, tg: TelegramFake) {
  const token = tg.createBot("shlyuz_demo_bot", { firstName: "Шлюз (демо)" });
  const bot = JSON.parse(await call(base, "/api/v1/bots", { token }));
  const group = tg.createGroup("Дежурная смена");
  await tg.addBotToGroup(token, group.id);
  let chatId = "";
  for (let i = 0; i < 100 && !chatId; i++) {
    const groups = JSON.parse(await call(base, "/api/v1/groups"));
    chatId = groups.items?.[0]?.id ?? "";
    if (!chatId) await new Promise((r) => setTimeout(r, 100));
  }
  if (!chatId) return console.warn("demo: the fake Telegram group did not register");
  const targets = [{ chatId }];
  const rules = JSON.parse(await call(base, "/api/v1/rules")).items as Array<Record<string, unknown>>;
  const preset = rules.find((r) => r.preset === "schedule.failed");
  if (preset) {
    const { id, createdAt: _c, updatedAt: _u, preset: _p, org: _o, ...rest } = preset;
    await call(base, `/api/v1/rules/${id}`, { ...rest, enabled: true, targets, botId: bot.id }, "PUT");
  }
  await call(base, "/api/v1/rules", {
    name: "Демо-события",
    eventType: "custom.*",
    template: "🔔 <b>{{event.type}}</b>: {{text}}",
    targets,
  });
  await call(base, "/api/v1/rules", {
    name: "Почта → дежурным",
    eventType: "mail.received",
    template: "📧 <b>{{subject}}</b>\nОт: {{from}}\n{{text}}",
    targets,
  });
  await call(base, "/api/v1/schedules", {
    name: "Сломанная выгрузка (для демо уведомлений)",
    cron: "* * * * *",
    timezone: "Europe/Moscow",
    action: { type: "http", method: "GET", url: `${base}/demo-missing-endpoint` },
  });
  await seedMail(base);
}

/** The demo's mail: letters a newcomer watches turn into messages in the fake Telegram's chat. */
const DEMO_MAILS: FakeMail[] = [
  {
    subject: "Счёт №1024 оплачен",
    text: "Добрый день!\nОплата по счёту №1024 поступила. Акт сверки во вложении.",
    charset: "windows-1251",
    attachments: [{
      filename: "Акт сверки №1024.txt",
      mimeType: "text/plain",
      content: new TextEncoder().encode("Акт сверки взаимных расчётов\nСальдо: 0,00 руб.\n"),
    }],
  },
  { subject: "Заявка на пропуск", text: "Прошу оформить пропуск для подрядчика на завтра, 9:00.", charset: "koi8-r" },
  { subject: "Отгрузка задерживается", text: "Машина на отгрузку придёт на час позже: пробки на МКАД." },
];

/**
 * A mailbox fed by the POP3 fake (tests/fakes/mail_server.ts, nothing to install), with attachment
 * forwarding on: a mail arrives at once and then every minute, and is polled right away, so it shows
 * in the fake Telegram within seconds (the mailbox's own one-minute polling would find it too).
 */
async function seedMail(base: string) {
  const pop = startPop3Fake({ users: { duty: "duty-password" } });
  const box = JSON.parse(
    await call(base, "/api/v1/mailboxes", {
      name: "Дежурная почта (демо POP3)",
      protocol: "pop3",
      host: pop.host,
      port: pop.port,
      security: "none",
      user: "duty",
      password: "duty-password",
      pollSeconds: 60,
      startFrom: "all",
      forwardAttachments: true,
    }),
  );
  if (!box.id) return console.warn("demo: the demo mailbox was not created");
  let n = 0;
  const next = async () => {
    const m = DEMO_MAILS[n++ % DEMO_MAILS.length];
    pop.deliver("duty", mail({ ...m, subject: n > DEMO_MAILS.length ? `${m.subject} (${n})` : m.subject }));
    await call(base, `/api/v1/mailboxes/${box.id}/poll`, {});
  };
  await next();
  setInterval(() => next().catch((e) => console.warn(`demo: mail: ${e}`)), 60_000);
  console.log(`demo POP3 server on ${pop.host}:${pop.port} (user duty / duty-password): a new mail every minute`);
}

async function seed(base: string, tg: TelegramFake) {
  await call(base, "/api/v1/settings/general", { allowPrivateNetworks: true }, "PUT");
  await call(base, "/api/v1/members", {
    email: "operator@shlyuz.local",
    name: "Оператор Иванова",
    password: "operator-password",
    role: "operator",
  });
  // Scheduler: an HTTP check every minute, a seconds-level one, and an internal job.
  await call(base, "/api/v1/schedules", {
    name: "Проверка шлюза каждую минуту",
    cron: "* * * * *",
    timezone: "Europe/Moscow",
    action: { type: "http", method: "GET", url: `${base}/ping/` },
  });
  await call(base, "/api/v1/schedules", {
    name: "Каждые 20 секунд (Владивосток)",
    cron: "*/20 * * * * *",
    timezone: "Asia/Vladivostok",
    action: { type: "http", method: "GET", url: `${base}/healthz` },
  });
  await call(base, "/api/v1/schedules", {
    name: "Обновить кэш Битрикс24",
    cron: "*/15 * * * *",
    timezone: "Europe/Moscow",
    action: { type: "internal", job: "bitrix.cache.refresh", payload: {} },
  });
  // One that fails every two minutes (the address does not exist), so the Overview and the journal
  // have something to show in red and to retry.
  await call(base, "/api/v1/schedules", {
    name: "Выгрузка в старую CRM (адрес удалён)",
    cron: "*/2 * * * *",
    timezone: "Europe/Moscow",
    action: { type: "http", method: "POST", url: `${base}/api/v1/old-crm/export` },
  });
  // 1C → Bitrix24: the sample request of the OpenAPI description.
  await call(base, "/", sampleRequest);
  // Enrichment: one task of each type.
  await call(base, "/api/v1/tasks", { task_id: 1, task_type: "phone", data: "раб 846)231.60.14 *139" });
  await call(base, "/api/v1/tasks", { task_id: 2, task_type: "email", data: "serega@yandex/ru" });
  await call(base, "/api/v1/tasks", { task_id: 3, task_type: "gpt", data: "Кратко: что такое шлюз интеграции?" });
  // A second copy of task 1 with other content: refused as a conflict, it becomes a dead letter
  // (the journal shows it under Обогащение with «Повторить доставку»).
  await call(base, "/api/v1/tasks/batch", { tasks: [{ task_id: 1, task_type: "phone", data: "+7 999 000-00-00" }] });
  await seedNotify(base, tg);
  await call(base, "/api/v1/events", { type: "custom.demo", data: { text: "Демо запущено" } });
}

if (import.meta.main) {
  const bitrix = await startBitrix24Fake({ rateLimit: { ratePerSec: 2, burst: 50 } });
  const dadata = await startDadataFake({ rps: 20 });
  const gpt = await startYandexGptFake({ maxConcurrent: 10 });
  const tg = startTelegramFake();
  const env: Record<string, string> = {
    PORT: String(port),
    SHLYUZ_KV_PATH: Deno.env.get("SHLYUZ_KV_PATH") ?? ":memory:",
    SHLYUZ_DATA_DIR: Deno.env.get("SHLYUZ_DATA_DIR") ?? "./data/demo",
    SHLYUZ_ADMIN_EMAIL: "demo@shlyuz.local",
    SHLYUZ_ADMIN_PASSWORD: "demo-password",
    SHLYUZ_ADMIN_TOKEN: DEMO_TOKEN,
    // The demo calls its own hub and fakes on loopback: the operator allows that private range.
    SHLYUZ_ALLOW_PRIVATE_NETWORKS: Deno.env.get("SHLYUZ_ALLOW_PRIVATE_NETWORKS") ?? "127.0.0.0/8",
    SHLYUZ_ORG_NAME: "Демо: ООО «Уральский завод»",
    BITRIX_WEBHOOK: bitrix.webhookUrl,
    DADATA_BASE_URL: dadata.url,
    DADATA_API_KEY: "test-dadata-key",
    DADATA_SECRET_KEY: "test-dadata-secret",
    YANDEXGPT_BASE_URL: gpt.url,
    YANDEXGPT_API_KEY: "test-yandexgpt-key",
    YANDEXGPT_FOLDER_ID: "b1gdemofolder",
    TELEGRAM_API_ROOT: tg.apiRoot,
  };
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  console.log(`demo fakes: Bitrix24 ${bitrix.url}, DaData ${dadata.url}, YandexGPT ${gpt.url}, Telegram ${tg.url}`);
  // The real composition root, configured through the environment like any deployment.
  await import("../../main.ts");
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/ping/`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  await seed(base, tg);
  await startSlaDemo(base, call);
  console.log(`\nShlyuz demo: ${base}/admin — log in as demo@shlyuz.local / demo-password`);
  console.log(`Fake Telegram (the messages the bot sent, as a chat): ${tg.url}/`);
  console.log(`API token for curl: ${DEMO_TOKEN}\n`);
}
