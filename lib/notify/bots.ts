/**
 * Telegram bots: added by token (checked with getMe, sealed at rest), each
 * independent — one bot's revoked token or failing webhook marks that bot and
 * raises `bot.failed`, the others carry on. With PUBLIC_URL the hub owns each
 * bot's webhook at `/telegram/{botId}` with a per-bot secret (set, checked
 * against getWebhookInfo, re-asserted); without it the hub long-polls, one
 * poller per bot across processes (a KV lease). Updates register groups
 * (`my_chat_member`), follow `migrate_to_chat_id`, offer `/start` chats as
 * contacts and answer `/help` in Russian.
 */
import type { Api, Bot, Context } from "grammy";
import type { Update, UserFromGetMe } from "grammy/types";
import { newId, randomToken } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { EventBus } from "../events/mod.ts";
import type { Clock } from "../clock.ts";
import type { FetchFn } from "../http/request.ts";
import { ConflictError, UpstreamHttpError, ValidationError } from "../errors.ts";
import { type BotRecord, type ChatRecord, type ChatStatus, NotifyStore } from "./store.ts";
import { botIdOfToken, classifyTelegramError, grammy, grammyFetch, telegramApi, TOKEN_PATTERN } from "./telegram.ts";

export const HELP_TEXT = [
  "Я бот уведомлений «Шлюза».",
  "",
  "• Добавьте меня в группу — группа появится в панели, и администратор сможет направлять в неё уведомления.",
  "• /start в личном чате — запрос на получение уведомлений лично; его подтверждает администратор.",
  "• /help — эта справка.",
].join("\n");

export const START_TEXT =
  "Здравствуйте! Запрос на получение уведомлений отправлен администратору. Как только он его подтвердит, уведомления начнут приходить сюда.";
export const START_APPROVED_TEXT = "Вы уже получаете уведомления в этом чате.";

const ALLOWED_UPDATES = ["message", "my_chat_member"] as const;
const POLL_LEASE_MS = 60_000;

/** A bot as pages and the API show it: no token, no secret. */
export interface BotView {
  id: string;
  username: string;
  name: string;
  status: BotRecord["status"];
  mode: BotRecord["mode"];
  lastError?: string;
  lastErrorAt?: string;
  createdAt: string;
}

export function botView(b: BotRecord): BotView {
  const { id, username, name, status, mode, lastError, lastErrorAt, createdAt } = b;
  return { id, username, name, status, mode, lastError, lastErrorAt, createdAt };
}

function badToken(message: string): ValidationError {
  return new ValidationError([{ field: "token", message }], { message });
}

export interface BotServiceDeps {
  kv: Deno.Kv;
  store: NotifyStore;
  events: Pick<EventBus, "publish">;
  log: Logger;
  clock: Clock;
  fetch: FetchFn;
  apiRoot: string;
  publicUrl?: string;
  /** Long-poll timeout (s). Default 25. */
  pollTimeoutSeconds?: number;
}

export class BotService {
  readonly #d: BotServiceDeps;
  readonly #apis = new Map<string, { token: string; api: Api }>();
  readonly #bots = new Map<string, Bot>();
  readonly #pollers = new Map<string, AbortController>();
  readonly #polling = new Set<Promise<void>>();
  readonly #owner = newId();
  #closed = false;

  constructor(deps: BotServiceDeps) {
    this.#d = deps;
  }

  get mode(): "webhook" | "polling" {
    return this.#d.publicUrl ? "webhook" : "polling";
  }

  webhookUrl(botId: string): string | null {
    return this.#d.publicUrl ? `${this.#d.publicUrl.replace(/\/+$/, "")}/telegram/${botId}` : null;
  }

  /** The grammY API of a bot (built once per token). */
  async api(bot: BotRecord): Promise<Api> {
    const token = await this.#d.store.openToken(bot);
    const cached = this.#apis.get(bot.id);
    if (cached && cached.token === token) return cached.api;
    const api = await telegramApi(token, { apiRoot: this.#d.apiRoot, fetch: this.#d.fetch });
    this.#apis.set(bot.id, { token, api });
    return api;
  }

  /** Adds a bot by its token: getMe must answer; the token is sealed; the webhook or poller starts. */
  async add(org: string, token: string): Promise<BotRecord> {
    token = token.trim();
    if (!TOKEN_PATTERN.test(token)) {
      throw badToken("Cannot add the bot: the token must look like 123456789:AA… (from @BotFather)");
    }
    const probe = await telegramApi(token, { apiRoot: this.#d.apiRoot, fetch: this.#d.fetch });
    let me: UserFromGetMe;
    try {
      me = await probe.getMe();
    } catch (error) {
      const f = classifyTelegramError(error);
      if (f.kind === "token") {
        throw badToken(
          `Cannot add the bot: Telegram refused the token (${f.reason}); copy it again from @BotFather`,
        );
      }
      throw new UpstreamHttpError(`Cannot add the bot: Telegram did not answer getMe (${f.reason})`, {
        service: "Telegram",
      });
    }
    const existing = (await this.#d.store.listBots(org)).find((b) => b.tgId === me.id);
    if (existing) throw new ConflictError(`Cannot add the bot: @${me.username} is already added`);
    const id = newId(this.#d.clock.now());
    const bot: BotRecord = {
      id,
      org,
      tgId: me.id ?? botIdOfToken(token),
      username: me.username,
      name: me.first_name,
      token: await this.#d.store.sealToken(org, id, token),
      webhookSecret: await this.#d.store.sealSecret(org, id, randomToken(24)),
      status: "ok",
      mode: this.mode,
      createdAt: this.#d.store.iso(),
    };
    await this.#d.store.putBot(bot);
    if (bot.mode === "webhook") await this.ensureWebhook(bot);
    else this.startPoller(bot);
    return (await this.#d.store.getBot(org, id)) ?? bot;
  }

  /** Removes a bot: its webhook is deleted (best effort), its poller stops. */
  async remove(org: string, id: string): Promise<boolean> {
    const bot = await this.#d.store.getBot(org, id);
    if (!bot) return false;
    this.#pollers.get(id)?.abort();
    try {
      if (bot.mode === "webhook") await (await this.api(bot)).deleteWebhook();
    } catch (error) {
      this.#d.log.warn("deleteWebhook failed", { bot: bot.username, reason: classifyTelegramError(error).reason });
    }
    for (const chat of await this.#d.store.listChats(org)) {
      if (chat.botIds.includes(id)) {
        await this.#d.store.updateChat(org, chat.id, (c) => ({ botIds: c.botIds.filter((b) => b !== id) }));
      }
    }
    this.#apis.delete(id);
    this.#bots.delete(id);
    return await this.#d.store.deleteBot(org, id);
  }

  /** Marks the bot failing (or revoked) with Telegram's words and raises `bot.failed` on the change. */
  async markFailed(bot: BotRecord, status: "failing" | "revoked", reason: string): Promise<void> {
    const before = bot.status;
    await this.#d.store.updateBot(
      bot.org,
      bot.id,
      () => ({ status, lastError: reason, lastErrorAt: this.#d.store.iso() }),
    );
    if (before !== status) {
      this.#d.log.warn("bot failed", { bot: bot.username, status, reason });
      await this.#d.events.publish(bot.org, "bot.failed", { botId: bot.id, bot: bot.username, reason });
    }
  }

  async #markOk(bot: BotRecord): Promise<void> {
    if (bot.status !== "ok") await this.#d.store.updateBot(bot.org, bot.id, () => ({ status: "ok" }));
  }

  /**
   * Health check and webhook ownership: getMe (401 → revoked), and in webhook
   * mode getWebhookInfo — a different URL is re-asserted, a `last_error_message`
   * marks the bot failing with Telegram's words.
   */
  async check(bot: BotRecord): Promise<BotRecord> {
    const api = await this.api(bot);
    try {
      await api.getMe();
      if (bot.mode === "webhook") {
        const info = await api.getWebhookInfo();
        const want = this.webhookUrl(bot.id)!;
        if (info.url !== want) {
          await this.ensureWebhook(bot);
          const reason = info.url
            ? `the webhook pointed to ${info.url}; Shlyuz set it back`
            : "the webhook was removed; Shlyuz set it again";
          await this.#d.store.updateBot(
            bot.org,
            bot.id,
            () => ({ lastError: reason, lastErrorAt: this.#d.store.iso() }),
          );
        } else if (
          info.last_error_message && info.last_error_date &&
          info.last_error_date * 1000 > this.#d.clock.now() - 10 * 60_000
        ) {
          await this.markFailed(bot, "failing", `Telegram cannot deliver to the webhook: ${info.last_error_message}`);
          return (await this.#d.store.getBot(bot.org, bot.id)) ?? bot;
        } else {
          await this.#markOk(bot);
        }
      } else {
        await this.#markOk(bot);
        if (!this.#pollers.has(bot.id)) this.startPoller(bot);
      }
    } catch (error) {
      const f = classifyTelegramError(error);
      await this.markFailed(bot, f.kind === "token" ? "revoked" : "failing", f.reason);
    }
    return (await this.#d.store.getBot(bot.org, bot.id)) ?? bot;
  }

  /** Sets the bot's webhook to `/telegram/{botId}` with its secret. */
  async ensureWebhook(bot: BotRecord): Promise<void> {
    const url = this.webhookUrl(bot.id);
    if (!url) return;
    try {
      await (await this.api(bot)).setWebhook(url, {
        secret_token: await this.#d.store.openSecret(bot),
        allowed_updates: [...ALLOWED_UPDATES],
      });
      await this.#markOk(bot);
    } catch (error) {
      const f = classifyTelegramError(error);
      await this.markFailed(bot, f.kind === "token" ? "revoked" : "failing", `setWebhook failed: ${f.reason}`);
    }
  }

  /** The grammY bot that handles this bot's updates (webhook and polling alike). */
  async grammyBot(bot: BotRecord): Promise<Bot> {
    const cached = this.#bots.get(bot.id);
    if (cached) return cached;
    const token = await this.#d.store.openToken(bot);
    const { Bot } = await grammy();
    const g = new Bot(token, {
      botInfo: {
        id: bot.tgId,
        is_bot: true,
        first_name: bot.name,
        username: bot.username,
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
        can_connect_to_business: false,
        has_main_web_app: false,
      } as UserFromGetMe,
      client: { apiRoot: this.#d.apiRoot.replace(/\/+$/, ""), fetch: grammyFetch(this.#d.fetch) as never },
    });
    g.use(async (ctx, next) => {
      // Telegram re-sends an update it thinks was not received: handle each update_id once. The
      // marker is written only after the handler succeeded, so an update whose handling failed (or
      // whose process died) is handled when it comes again; the handlers are upserts, so the rare
      // update handled twice at once does no harm.
      const key = ["dedupe", "tg.update", bot.id, ctx.update.update_id];
      if ((await this.#d.kv.get(key)).versionstamp) return;
      await next();
      await this.#d.kv.set(key, true, { expireIn: 2 * 24 * 3600_000 });
    });
    g.command("help", (ctx) => this.#reply(ctx, HELP_TEXT));
    g.command("start", async (ctx) => {
      if (ctx.chat.type !== "private") return await this.#reply(ctx, HELP_TEXT);
      const c = await this.#d.store.upsertChat(bot.org, ctx.chat.id, (cur) => ({
        kind: "contact",
        title: cur?.title || [ctx.chat.first_name, ctx.chat.last_name].filter(Boolean).join(" ") ||
          String(ctx.chat.id),
        username: ctx.chat.username,
        botIds: [...new Set([...(cur?.botIds ?? []), bot.id])],
        status: cur?.status === "active" ? "active" : "pending",
      }));
      if (c.status === "pending") {
        await this.#d.events.publish(bot.org, "notify.contact_requested", {
          chatId: c.id,
          name: c.title,
          username: c.username ?? "",
          bot: bot.username,
        });
      }
      await this.#reply(ctx, c.status === "active" ? START_APPROVED_TEXT : START_TEXT);
    });
    g.on("my_chat_member", (ctx) => this.#onMembership(bot, ctx));
    g.on("message", async (ctx) => {
      const m = ctx.message;
      if (m.migrate_to_chat_id) {
        await this.#d.store.migrateChat(bot.org, m.chat.id, m.migrate_to_chat_id);
      } else if (m.new_chat_members?.some((u) => u.id === bot.tgId) && m.chat.type !== "private") {
        await this.#joined(bot, m.chat);
      }
    });
    g.catch((err) => this.#d.log.error("update handler failed", { bot: bot.username, error: err.error }));
    this.#bots.set(bot.id, g);
    return g;
  }

  async #reply(ctx: Context, text: string) {
    try {
      await ctx.reply(text);
    } catch (error) {
      this.#d.log.warn("reply failed", { reason: classifyTelegramError(error).reason });
    }
  }

  async #joined(bot: BotRecord, chat: { id: number; title?: string; type: string; is_forum?: boolean }) {
    await this.#d.store.upsertChat(bot.org, chat.id, (cur) => ({
      kind: "group",
      title: chat.title ?? cur?.title ?? String(chat.id),
      botIds: [...new Set([...(cur?.botIds ?? []), bot.id])],
      status: "active",
      statusReason: undefined,
      isForum: chat.is_forum ?? cur?.isForum,
    }));
  }

  async #onMembership(bot: BotRecord, ctx: Context) {
    const u = ctx.myChatMember!;
    const status = u.new_chat_member.status;
    const chat = u.chat;
    if (chat.type === "channel") return;
    if (chat.type === "private") {
      const existing = await this.#d.store.chatByTg(bot.org, chat.id);
      if (!existing) return;
      const blocked = status === "kicked";
      await this.#d.store.updateChat(bot.org, existing.id, (c) => ({
        status: blocked ? "blocked" : c.status === "blocked" ? "active" : c.status,
        statusReason: blocked ? "the user blocked the bot" : undefined,
      }));
      if (blocked) await this.#chatLost(bot, existing, "the user blocked the bot");
      return;
    }
    if (status === "member" || status === "administrator" || status === "creator" || status === "restricted") {
      await this.#joined(bot, chat);
      return;
    }
    const existing = await this.#d.store.chatByTg(bot.org, chat.id);
    if (!existing) return;
    const reason = status === "kicked"
      ? `@${bot.username} was kicked from the group`
      : `@${bot.username} left the group`;
    const next = await this.#d.store.updateChat(bot.org, existing.id, (c) => {
      const botIds = c.botIds.filter((b) => b !== bot.id);
      return {
        botIds,
        status: botIds.length ? c.status : (status === "kicked" ? "kicked" : "left") as ChatStatus,
        statusReason: botIds.length ? c.statusReason : reason,
      };
    });
    if (next) await this.#chatLost(bot, next, reason);
  }

  async #chatLost(bot: BotRecord, chat: ChatRecord, reason: string) {
    await this.#d.events.publish(bot.org, "notify.chat_lost", {
      chatId: chat.id,
      chat: chat.title,
      bot: bot.username,
      reason,
    });
  }

  /** Handles one update (from the webhook or a poll). */
  async handleUpdate(bot: BotRecord, update: Update): Promise<void> {
    await (await this.grammyBot(bot)).handleUpdate(update);
  }

  /** Starts long polling for every bot in polling mode whose lease is free (called on start and by the cron). */
  startPollers(bots: BotRecord[]): void {
    for (const b of bots) {
      if (b.mode === "polling" && b.status !== "revoked" && !this.#pollers.has(b.id)) this.startPoller(b);
    }
  }

  startPoller(bot: BotRecord): void {
    if (this.#closed || this.#pollers.has(bot.id) || bot.mode !== "polling") return;
    const ctl = new AbortController();
    this.#pollers.set(bot.id, ctl);
    const run = this.#poll(bot, ctl.signal).catch((error) => {
      this.#d.log.error("poller stopped", { bot: bot.username, error });
    }).finally(() => {
      if (this.#pollers.get(bot.id) === ctl) this.#pollers.delete(bot.id);
      this.#polling.delete(run);
    });
    this.#polling.add(run);
  }

  /** Takes or renews the poll lease; false when another process polls this bot. */
  async #lease(botId: string): Promise<boolean> {
    const key = ["lease", "tgpoll", botId];
    const entry = await this.#d.kv.get<{ owner: string; until: number }>(key);
    const now = this.#d.clock.now();
    if (entry.value && entry.value.owner !== this.#owner && entry.value.until > now) return false;
    const res = await this.#d.kv.atomic().check(entry).set(key, { owner: this.#owner, until: now + POLL_LEASE_MS }, {
      expireIn: POLL_LEASE_MS,
    }).commit();
    return res.ok;
  }

  async #poll(initial: BotRecord, signal: AbortSignal): Promise<void> {
    try {
      await this.#pollLoop(initial, signal);
    } finally {
      // Hand the bot over at once (a restart or another process need not wait for the lease to expire).
      const key = ["lease", "tgpoll", initial.id];
      const entry = await this.#d.kv.get<{ owner: string }>(key).catch(() => null);
      if (entry?.value?.owner === this.#owner) {
        await this.#d.kv.atomic().check(entry).delete(key).commit().catch(() => {});
      }
    }
  }

  async #pollLoop(initial: BotRecord, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      if (!(await this.#lease(initial.id))) return; // another process polls it; the cron retries later
      const bot = await this.#d.store.getBot(initial.org, initial.id);
      if (!bot || bot.status === "revoked" || bot.mode !== "polling") return;
      const api = await this.api(bot);
      try {
        const updates = await api.getUpdates(
          {
            offset: (bot.lastUpdateId ?? 0) + 1,
            timeout: this.#d.pollTimeoutSeconds ?? 25,
            allowed_updates: [...ALLOWED_UPDATES],
          },
          signal,
        );
        failures = 0;
        for (const u of updates) {
          await this.handleUpdate(bot, u);
          await this.#d.store.updateBot(bot.org, bot.id, () => ({ lastUpdateId: u.update_id }));
        }
        if (bot.status !== "ok") await this.#markOk(bot);
      } catch (error) {
        if (signal.aborted) return;
        const f = classifyTelegramError(error);
        if (f.kind === "token") {
          await this.markFailed(bot, "revoked", f.reason);
          return;
        }
        failures++;
        if (failures >= 3) await this.markFailed(bot, "failing", `getUpdates failed: ${f.reason}`);
        await this.#d.clock.sleep(Math.min(30_000, 500 * 2 ** failures), signal).catch(() => {});
      }
    }
  }

  /** Stops every poller and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const ctl of this.#pollers.values()) ctl.abort();
    await Promise.all([...this.#polling]);
  }
}
