/** A test hub wired to a fake Telegram, with helpers to add bots, groups and rules through the API. */
import assert from "node:assert/strict";
import { eventually, startTestHub, type TestHub, type TestHubOptions } from "../helpers/hub.ts";
import { startTelegramFake, type TelegramFake, type TelegramFakeOptions } from "../fakes/telegram.ts";
import type { ChatRecord } from "../../lib/notify/store.ts";

export interface NotifyHarness extends TestHub {
  tg: TelegramFake;
  /** Adds a bot through the API; returns its record id and token. */
  addBot(username: string): Promise<{ id: string; token: string }>;
  /** Creates a group in the fake, adds the bot, waits until the hub registered it. */
  addGroup(token: string, title: string, opts?: { supergroup?: boolean; forum?: boolean }): Promise<
    { tgChatId: number; chat: ChatRecord }
  >;
  createRule(body: Record<string, unknown>): Promise<{ id: string }>;
  publish(type: string, data: Record<string, unknown>): Promise<void>;
  chats(): Promise<ChatRecord[]>;
}

export async function startNotifyHarness(
  { env = {}, fake = {}, clock, options }: {
    env?: Record<string, string>;
    fake?: TelegramFakeOptions;
    clock?: TestHubOptions["clock"];
    options?: TestHubOptions["options"];
  } = {},
): Promise<NotifyHarness> {
  const tg = startTelegramFake(fake);
  let t: TestHub;
  try {
    t = await startTestHub({ env: { TELEGRAM_API_ROOT: tg.apiRoot, ...env }, clock, options });
  } catch (error) {
    await tg.close();
    throw error;
  }
  // The hub's PUBLIC_URL (if any) is not reachable: the fake posts webhooks to the test server.
  tg.rewriteWebhook = (url) => t.url + new URL(url).pathname;
  const h: NotifyHarness = {
    ...t,
    tg,
    async addBot(username) {
      const token = tg.createBot(username);
      const res = await t.api("/api/v1/bots", { method: "POST", json: { token } });
      const body = await res.json();
      assert.equal(res.status, 201, JSON.stringify(body));
      return { id: body.id, token };
    },
    async addGroup(token, title, opts = {}) {
      const g = tg.createGroup(title, opts);
      await tg.addBotToGroup(token, g.id);
      const chat = await until(async () => (await h.chats()).find((c) => c.tgChatId === g.id && c.status === "active"));
      return { tgChatId: g.id, chat };
    },
    async createRule(body) {
      const res = await t.api("/api/v1/rules", { method: "POST", json: body });
      const out = await res.json();
      assert.equal(res.status, 201, JSON.stringify(out));
      return out;
    },
    async publish(type, data) {
      // deno-lint-ignore no-explicit-any
      const e = await t.hub.events.publish(t.org, type as any, data as any);
      assert.ok(e, `the catalogue refused ${type} ${JSON.stringify(data)}`);
    },
    async chats() {
      return await t.hub.notify!.store.listChats(t.org);
    },
    async close() {
      await t.close();
      await tg.close();
    },
  };
  return h;
}

/** Waits until `check` returns a value (not undefined/null/false) and returns it, typed without the absence. */
export async function until<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 5000 }: { timeoutMs?: number } = {},
): Promise<T> {
  return (await eventually(check, { timeoutMs })) as T;
}

/** The data of a `schedule.failed` event as the scheduler publishes it. */
export function failedRun(d: { scheduleId: string; scheduleName: string; reason?: string; runId?: string | number }) {
  return {
    runId: String(d.runId ?? crypto.randomUUID()),
    scheduleId: d.scheduleId,
    scheduleName: d.scheduleName,
    outcome: "failed" as const,
    trigger: "schedule" as const,
    plannedAt: new Date().toISOString(),
    timezone: "Europe/Moscow",
    ...(d.reason ? { reason: d.reason } : {}),
  };
}

/** A notify harness whose `mail.received` events all go to one group, «Почта», through one rule. */
export interface MailWorld {
  h: NotifyHarness;
  tgChatId: number;
  chatId: string;
}

/**
 * Runs `fn` against a notify harness (with `env`) where private addresses are
 * allowed (the mail servers listen on 127.0.0.1) and the rule «Вся почта»
 * sends every `mail.received` to the group «Почта» with `template`.
 */
export async function withMailWorld(
  { env = {}, template }: { env?: Record<string, string>; template: string },
  fn: (w: MailWorld) => Promise<void>,
): Promise<void> {
  const h = await startNotifyHarness({ env });
  try {
    const res = await h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    assert.equal(res.status, 200, await res.text());
    const { token } = await h.addBot("mail_bot");
    const { tgChatId, chat } = await h.addGroup(token, "Почта");
    await h.createRule({ name: "Вся почта", eventType: "mail.received", template, targets: [{ chatId: chat.id }] });
    await fn({ h, tgChatId, chatId: chat.id });
  } finally {
    await h.close();
  }
}

/** Adds a mailbox «Бухгалтерия» on 127.0.0.1 without TLS for the test mail user; `body` adds or overrides fields. */
export async function addMailbox(
  h: NotifyHarness,
  user: { user: string; password: string },
  body: Record<string, unknown>,
): Promise<string> {
  const res = await h.api("/api/v1/mailboxes", {
    method: "POST",
    json: { name: "Бухгалтерия", host: "127.0.0.1", security: "none", ...user, startFrom: "all", ...body },
  });
  const out = await res.json();
  assert.equal(res.status, 201, JSON.stringify(out));
  return out.id;
}
