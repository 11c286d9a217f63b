/**
 * What notifications keep in KV, organization first: bots (token and webhook
 * secret sealed), chats (groups and contacts, with an index by Telegram chat
 * id), rules, mailboxes (password sealed) with their cursors, and the
 * delivery log. Secondary indexes are written in the same atomic operation as
 * the record they point to.
 */
import { newId } from "../ids.ts";
import type { SecretBox } from "../crypto/secret_box.ts";
import type { DeliveryDocument } from "./mail/attachments.ts";

export type BotStatus = "ok" | "failing" | "revoked";

export interface BotRecord {
  id: string;
  org: string;
  /** Telegram's numeric id of the bot (the part of the token before the colon). */
  tgId: number;
  username: string;
  name: string;
  /** Sealed (SecretBox, aad `<org>:bot.<id>.token`). */
  token: string;
  /** Sealed webhook secret sent back by Telegram in X-Telegram-Bot-Api-Secret-Token. */
  webhookSecret: string;
  status: BotStatus;
  /** The last problem, in Telegram's words. */
  lastError?: string;
  lastErrorAt?: string;
  /** `webhook` when PUBLIC_URL is set, else `polling`. */
  mode: "webhook" | "polling";
  /** The last update_id handled (polling offset; webhook redelivery dedupe). */
  lastUpdateId?: number;
  createdAt: string;
}

export type ChatKind = "group" | "contact";
export type ChatStatus = "active" | "pending" | "kicked" | "blocked" | "deleted" | "left";

export interface ChatRecord {
  id: string;
  org: string;
  kind: ChatKind;
  /** Telegram chat id (negative for groups, -100… for supergroups). */
  tgChatId: number;
  title: string;
  username?: string;
  /** Bots that may post here (a group can be linked to several bots). */
  botIds: string[];
  status: ChatStatus;
  /** Why the chat is not active, in Telegram's words. */
  statusReason?: string;
  /** The chat was a basic group with this id before it became a supergroup. */
  migratedFrom?: number;
  isForum?: boolean;
  createdAt: string;
  updatedAt: string;
}

export type DeliveryStatus = "queued" | "sent" | "failed" | "retrying";

export interface DeliveryRecord {
  id: string;
  org: string;
  ruleId?: string;
  ruleName?: string;
  eventId?: string;
  eventType?: string;
  channel: "telegram" | "webhook";
  /** Chat record id (telegram) or the URL (webhook). */
  target: string;
  targetName: string;
  botId?: string;
  threadId?: number;
  text: string;
  status: DeliveryStatus;
  /** Parts of a split message already sent (a retry continues after them). */
  partsSent: number;
  parts: number;
  attempts: number;
  error?: string;
  /** Re-sent as plain text because Telegram refused the HTML. */
  plainFallback?: boolean;
  /** Files sent after the text (a mail's forwarded attachments), and how many of them went out. */
  documents?: DeliveryDocument[];
  documentsSent?: number;
  createdAt: string;
  updatedAt: string;
}

const DELIVERY_TTL = 30 * 24 * 3600_000;

export const keys = {
  bot: (org: string, id: string) => ["nbot", org, id],
  bots: (org: string) => ["nbot", org],
  botOwner: (id: string) => ["nbot_owner", id],
  chat: (org: string, id: string) => ["nchat", org, id],
  chats: (org: string) => ["nchat", org],
  chatByTg: (org: string, tgChatId: number) => ["nchat_tg", org, tgChatId],
  rule: (org: string, id: string) => ["nrule", org, id],
  rules: (org: string) => ["nrule", org],
  rulesVersion: (org: string) => ["nrule_ver", org],
  delivery: (org: string, id: string) => ["ndelivery", org, id],
  deliveries: (org: string) => ["ndelivery", org],
  mailbox: (org: string, id: string) => ["nmailbox", org, id],
  mailboxes: (org: string) => ["nmailbox", org],
  mailCursor: (org: string, id: string) => ["nmail_cursor", org, id],
  /** The IMAP mail whose fetch imapflow refused as too large (the connection went with it): skipped next time. */
  mailTooLarge: (org: string, id: string) => ["nmail_too_large", org, id],
};

/** KV access for bots, chats and deliveries (rules and mailboxes have their own modules). */
export class NotifyStore {
  constructor(readonly kv: Deno.Kv, readonly box: SecretBox, readonly now: () => number) {}

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  async listBots(org: string): Promise<BotRecord[]> {
    const out: BotRecord[] = [];
    for await (const e of this.kv.list<BotRecord>({ prefix: keys.bots(org) })) out.push(e.value);
    return out;
  }

  async getBot(org: string, id: string): Promise<BotRecord | null> {
    return (await this.kv.get<BotRecord>(keys.bot(org, id))).value;
  }

  /** The bot and its organization from the bot id alone (the webhook path has no org). */
  async botById(id: string): Promise<BotRecord | null> {
    const owner = (await this.kv.get<string>(keys.botOwner(id))).value;
    return owner ? await this.getBot(owner, id) : null;
  }

  async putBot(bot: BotRecord): Promise<void> {
    await this.kv.atomic().set(keys.bot(bot.org, bot.id), bot).set(keys.botOwner(bot.id), bot.org).commit();
  }

  /** Changes some fields of a bot (read-modify-write with a check, retried on a conflict). */
  async updateBot(org: string, id: string, change: (b: BotRecord) => Partial<BotRecord>): Promise<BotRecord | null> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.kv.get<BotRecord>(keys.bot(org, id));
      if (!entry.value) return null;
      const next = { ...entry.value, ...change(entry.value) };
      if ((await this.kv.atomic().check(entry).set(entry.key, next).commit()).ok) return next;
    }
    throw new Error(`Cannot update bot ${id}: too many concurrent changes`);
  }

  async deleteBot(org: string, id: string): Promise<boolean> {
    const bot = await this.getBot(org, id);
    if (!bot) return false;
    await this.kv.atomic().delete(keys.bot(org, id)).delete(keys.botOwner(id)).commit();
    return true;
  }

  sealToken(org: string, botId: string, token: string) {
    return this.box.seal(token, `${org}:bot.${botId}.token`);
  }

  openToken(bot: BotRecord) {
    return this.box.open(bot.token, `${bot.org}:bot.${bot.id}.token`);
  }

  sealSecret(org: string, botId: string, secret: string) {
    return this.box.seal(secret, `${org}:bot.${botId}.webhook`);
  }

  openSecret(bot: BotRecord) {
    return this.box.open(bot.webhookSecret, `${bot.org}:bot.${bot.id}.webhook`);
  }

  async listChats(org: string): Promise<ChatRecord[]> {
    const out: ChatRecord[] = [];
    for await (const e of this.kv.list<ChatRecord>({ prefix: keys.chats(org) })) out.push(e.value);
    return out;
  }

  async getChat(org: string, id: string): Promise<ChatRecord | null> {
    return (await this.kv.get<ChatRecord>(keys.chat(org, id))).value;
  }

  async chatByTg(org: string, tgChatId: number): Promise<ChatRecord | null> {
    const id = (await this.kv.get<string>(keys.chatByTg(org, tgChatId))).value;
    return id ? await this.getChat(org, id) : null;
  }

  /**
   * Creates the chat for `tgChatId` or changes the existing one, atomically
   * with its index (two bots seeing the same group at once make one record).
   */
  async upsertChat(
    org: string,
    tgChatId: number,
    change: (current: ChatRecord | null) => Partial<ChatRecord> & Pick<ChatRecord, "kind" | "title">,
  ): Promise<ChatRecord> {
    for (let i = 0; i < 10; i++) {
      const idx = await this.kv.get<string>(keys.chatByTg(org, tgChatId));
      const entry = idx.value ? await this.kv.get<ChatRecord>(keys.chat(org, idx.value)) : null;
      const current = entry?.value ?? null;
      const now = this.iso();
      const base: ChatRecord = current ?? {
        id: newId(this.now()),
        org,
        kind: "group",
        tgChatId,
        title: "",
        botIds: [],
        status: "active",
        createdAt: now,
        updatedAt: now,
      };
      const next: ChatRecord = { ...base, ...change(current), tgChatId, updatedAt: now };
      const op = this.kv.atomic().check(idx);
      if (entry) op.check(entry);
      op.set(keys.chat(org, next.id), next).set(keys.chatByTg(org, tgChatId), next.id);
      if ((await op.commit()).ok) return next;
    }
    throw new Error(`Cannot save chat ${tgChatId}: too many concurrent changes`);
  }

  /** Changes some fields of a chat by record id. */
  async updateChat(
    org: string,
    id: string,
    change: (c: ChatRecord) => Partial<ChatRecord>,
  ): Promise<ChatRecord | null> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.kv.get<ChatRecord>(keys.chat(org, id));
      if (!entry.value) return null;
      const next = { ...entry.value, ...change(entry.value), updatedAt: this.iso() };
      if ((await this.kv.atomic().check(entry).set(entry.key, next).commit()).ok) return next;
    }
    throw new Error(`Cannot update chat ${id}: too many concurrent changes`);
  }

  /**
   * A group became a supergroup: the same record takes the new id (so rules
   * keep pointing at it and no duplicate appears), the old id's index is
   * moved, and the old id is remembered.
   */
  async migrateChat(org: string, oldTgId: number, newTgId: number): Promise<ChatRecord | null> {
    for (let i = 0; i < 10; i++) {
      const idx = await this.kv.get<string>(keys.chatByTg(org, oldTgId));
      const newIdx = await this.kv.get<string>(keys.chatByTg(org, newTgId));
      const id = idx.value ?? newIdx.value;
      if (!id) return null;
      const entry = await this.kv.get<ChatRecord>(keys.chat(org, id));
      if (!entry.value) return null;
      if (entry.value.tgChatId === newTgId) return entry.value;
      const next: ChatRecord = {
        ...entry.value,
        tgChatId: newTgId,
        migratedFrom: oldTgId,
        status: entry.value.status === "deleted" ? "active" : entry.value.status,
        updatedAt: this.iso(),
      };
      const op = this.kv.atomic().check(idx).check(newIdx).check(entry).set(entry.key, next)
        .set(keys.chatByTg(org, newTgId), id).delete(keys.chatByTg(org, oldTgId));
      // Another record already registered for the new id (a second bot saw the supergroup first): fold it in.
      if (newIdx.value && newIdx.value !== id) {
        const other = await this.kv.get<ChatRecord>(keys.chat(org, newIdx.value));
        if (other.value) {
          next.botIds = [...new Set([...next.botIds, ...other.value.botIds])];
          op.check(other).delete(other.key).set(entry.key, next);
        }
      }
      if ((await op.commit()).ok) return next;
    }
    throw new Error(`Cannot migrate chat ${oldTgId}: too many concurrent changes`);
  }

  async deleteChat(org: string, id: string): Promise<boolean> {
    const chat = await this.getChat(org, id);
    if (!chat) return false;
    await this.kv.atomic().delete(keys.chat(org, id)).delete(keys.chatByTg(org, chat.tgChatId)).commit();
    return true;
  }

  async getDelivery(org: string, id: string): Promise<DeliveryRecord | null> {
    return (await this.kv.get<DeliveryRecord>(keys.delivery(org, id))).value;
  }

  async putDelivery(d: DeliveryRecord): Promise<void> {
    await this.kv.set(keys.delivery(d.org, d.id), d, { expireIn: DELIVERY_TTL });
  }

  /** Adds the delivery's first record to an atomic operation (with the enqueue that carries it). */
  addDelivery(op: Deno.AtomicOperation, d: DeliveryRecord): void {
    op.set(keys.delivery(d.org, d.id), d, { expireIn: DELIVERY_TTL });
  }

  async updateDelivery(
    org: string,
    id: string,
    change: (d: DeliveryRecord) => Partial<DeliveryRecord>,
  ): Promise<DeliveryRecord | null> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.kv.get<DeliveryRecord>(keys.delivery(org, id));
      if (!entry.value) return null;
      const next = { ...entry.value, ...change(entry.value), updatedAt: this.iso() };
      const res = await this.kv.atomic().check(entry).set(entry.key, next, { expireIn: DELIVERY_TTL }).commit();
      if (res.ok) return next;
    }
    throw new Error(`Cannot update delivery ${id}: too many concurrent changes`);
  }

  /**
   * The delivery log, newest first (ids are ULIDs of the source, so "newest"
   * is by creation), filtered by status and a text search over target, rule and text.
   */
  async listDeliveries(
    org: string,
    { status, q, limit = 100 }: { status?: DeliveryStatus; q?: string; limit?: number } = {},
  ): Promise<DeliveryRecord[]> {
    const out: DeliveryRecord[] = [];
    const needle = q?.toLocaleLowerCase("ru");
    const all: DeliveryRecord[] = [];
    for await (const e of this.kv.list<DeliveryRecord>({ prefix: keys.deliveries(org) })) all.push(e.value);
    all.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    for (const d of all) {
      if (status && d.status !== status) continue;
      if (needle) {
        const hay = `${d.targetName} ${d.ruleName ?? ""} ${d.text} ${d.error ?? ""} ${d.eventType ?? ""}`
          .toLocaleLowerCase("ru");
        if (!hay.includes(needle)) continue;
      }
      out.push(d);
      if (out.length >= limit) break;
    }
    return out;
  }
}
