/**
 * Sending one delivery (a `notify.send` message carries only its id; the
 * text and target are in the delivery record, written with the enqueue).
 * Idempotent: a sent or failed delivery is never sent again, parts already
 * sent are skipped on a retry, and a short KV lease keeps two deliveries of
 * the same message from sending at once. Telegram's limits: the rate gate
 * waits in place for short gaps and puts the message back on the queue for
 * long ones and for 429 `retry_after`; a migrated group is followed; HTML
 * Telegram refuses is re-sent as plain text; a kicked bot, a blocked contact
 * or a deleted chat marks the chat, fails the delivery and raises events;
 * a revoked token marks the bot and another bot of the chat takes over.
 */
import { SEND_KIND, type SendPayload } from "./kinds.ts";
import type { Clock } from "../clock.ts";
import type { EventBus } from "../events/mod.ts";
import type { Logger } from "../log.ts";
import type { Queue } from "../queue/queue.ts";
import { UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { requestText } from "../http/request.ts";
import type { AddressPolicy } from "../http/url_guard.ts";
import type { FetchFn } from "../http/request.ts";
import type { BotService } from "./bots.ts";
import type { RateGate } from "./rate_gate.ts";
import { type BotRecord, type ChatRecord, type DeliveryRecord, NotifyStore } from "./store.ts";
import { splitMessage } from "./split.ts";
import { htmlToPlain } from "./template.ts";
import { classifyTelegramError, grammy } from "./telegram.ts";
import { readBlob } from "./mail/attachments.ts";

/** Waits up to this long in the handler; longer waits go back on the queue. */
const INLINE_WAIT_MS = 1500;
const LEASE_MS = 60_000;
const OUTAGE_RETRY_MS = 10 * 60_000;
const OUTAGE_GIVE_UP_MS = 24 * 3600_000;

export interface DeliveryDeps {
  kv: Deno.Kv;
  store: NotifyStore;
  bots: BotService;
  gate: RateGate;
  queue: Pick<Queue, "enqueue">;
  events: Pick<EventBus, "publish">;
  clock: Clock;
  log: Logger;
  fetch: FetchFn;
  addressPolicy(org: string): Promise<AddressPolicy>;
  /** How long a rule's webhook may take to answer, ms. Default 10,000. */
  webhookTimeoutMs?: number;
}

/** How much of a webhook's answer is read (it only goes into a failure's reason). */
const WEBHOOK_ANSWER_BYTES = 2048;

/** Thrown to retry a transient failure on the queue's backoff. */
class Transient extends UpstreamHttpError {}

export class DeliveryWorker {
  constructor(readonly d: DeliveryDeps) {}

  /** Handles one `notify.send`. `lastAttempt`: a transient failure now fails the delivery. */
  async handle(org: string, { deliveryId }: SendPayload, { lastAttempt }: { lastAttempt: boolean }): Promise<void> {
    const d = await this.d.store.getDelivery(org, deliveryId);
    if (!d || d.status === "sent" || d.status === "failed") return;
    const leaseKey = ["lease", "ndelivery", org, deliveryId];
    const lease = await this.d.kv.atomic().check({ key: leaseKey, versionstamp: null }).set(leaseKey, true, {
      expireIn: LEASE_MS,
    }).commit();
    if (!lease.ok) {
      // Another handler is sending it right now: look again a little later.
      await this.d.queue.enqueue(SEND_KIND, { deliveryId: deliveryId }, { org: org, delayMs: 5000 });
      return;
    }
    try {
      await this.d.store.updateDelivery(org, deliveryId, (x) => ({ attempts: x.attempts + 1 }));
      if (d.channel === "webhook") await this.#webhook(d);
      else await this.#telegram(d);
    } catch (error) {
      if (!(error instanceof Transient)) throw error;
      if (lastAttempt) {
        // An outage delays notifications, it does not lose them: after the queue's quick retries,
        // try every OUTAGE_RETRY_MS for a day, then give up with the reason.
        if (this.d.clock.now() - Date.parse(d.createdAt) > OUTAGE_GIVE_UP_MS) {
          await this.fail(d, `retries used up: ${error.message}`);
          return;
        }
        await this.d.store.updateDelivery(org, deliveryId, () => ({ status: "retrying", error: error.message }));
        await this.d.queue.enqueue(SEND_KIND, { deliveryId: deliveryId }, { org: org, delayMs: OUTAGE_RETRY_MS });
        return;
      }
      await this.d.store.updateDelivery(org, deliveryId, () => ({ status: "retrying", error: error.message }));
      throw error;
    } finally {
      // Only our own lease: past LEASE_MS another handler may hold it, and deleting that one
      // would let a third send the same delivery at once.
      await this.d.kv.atomic().check({ key: leaseKey, versionstamp: lease.versionstamp }).delete(leaseKey).commit();
    }
  }

  /** Marks the delivery failed and raises `notify.failed` (not for failures about failures: no loops). */
  async fail(d: DeliveryRecord, reason: string): Promise<void> {
    const cur = await this.d.store.getDelivery(d.org, d.id);
    if (!cur || cur.status === "failed" || cur.status === "sent") return;
    await this.d.store.updateDelivery(d.org, d.id, () => ({ status: "failed", error: reason }));
    this.d.log.warn("notification failed", { org: d.org, delivery: d.id, target: d.targetName, reason });
    if (d.eventType?.startsWith("notify.")) return;
    await this.d.events.publish(d.org, "notify.failed", {
      deliveryId: d.id,
      ...(d.ruleId ? { ruleId: d.ruleId } : {}),
      chat: d.targetName,
      bot: d.botId ?? "",
      reason,
    });
  }

  async #sent(d: DeliveryRecord, bot: string, extra: Partial<DeliveryRecord> = {}) {
    await this.d.store.updateDelivery(d.org, d.id, () => ({ status: "sent", error: undefined, ...extra }));
    if (d.eventType?.startsWith("notify.")) return;
    await this.d.events.publish(d.org, "notify.sent", {
      deliveryId: d.id,
      ...(d.ruleId ? { ruleId: d.ruleId } : {}),
      chat: d.targetName,
      bot,
    });
  }

  async #webhook(d: DeliveryRecord) {
    let res;
    try {
      res = await requestText(d.target, {
        service: "Rule webhook",
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "Shlyuz-Notify/1" },
        body: d.text,
        policy: await this.d.addressPolicy(d.org),
        fetch: this.d.fetch,
        timeoutMs: this.d.webhookTimeoutMs ?? 10_000,
        maxBytes: WEBHOOK_ANSWER_BYTES,
      });
    } catch (error) {
      // Refused by the address policy (or a bad redirect): retrying will not change it.
      if (error instanceof UpstreamApiError) return await this.fail(d, error.message);
      // Refused or reset connections, timeouts, a broken-off answer: the receiver may be back soon.
      if (error instanceof UpstreamHttpError) throw new Transient(error.message, { service: "Rule webhook" });
      throw error;
    }
    const body = res.text.slice(0, 200);
    if (res.status >= 200 && res.status < 300) return await this.#sent(d, "");
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      throw new Transient(`the webhook answered HTTP ${res.status}`, { service: "Rule webhook", status: res.status });
    }
    await this.fail(d, `the webhook answered HTTP ${res.status}: ${body}`);
  }

  /** The bot to send with: the delivery's own if it still may post there, else another of the chat. */
  async #pickBot(d: DeliveryRecord, chat: ChatRecord, exclude: Set<string>): Promise<BotRecord | null> {
    const order = [...(d.botId ? [d.botId] : []), ...chat.botIds.filter((b) => b !== d.botId)];
    for (const id of order) {
      if (exclude.has(id) || !chat.botIds.includes(id)) continue;
      const bot = await this.d.store.getBot(d.org, id);
      if (bot && bot.status !== "revoked") return bot;
    }
    return null;
  }

  async #telegram(d: DeliveryRecord) {
    let chat = await this.d.store.getChat(d.org, d.target);
    if (!chat) return await this.fail(d, "the group or contact was removed");
    if (chat.status !== "active") {
      return await this.fail(
        d,
        `the chat ${chat.title} is ${chat.status}${chat.statusReason ? `: ${chat.statusReason}` : ""}`,
      );
    }
    const excluded = new Set<string>();
    let bot = await this.#pickBot(d, chat, excluded);
    if (!bot) return await this.fail(d, `no working bot may post to ${chat.title}`);
    let plain = d.plainFallback ?? false;
    let parts = plain ? splitMessage(htmlToPlain(d.text)) : splitMessage(d.text);
    let sentParts = d.partsSent;
    // A mail's forwarded attachments go after the text, one document each (lib/notify/mail/attachments.ts).
    const documents = d.documents ?? [];
    let docsSent = d.documentsSent ?? 0;
    const unsent = () => sentParts < parts.length || docsSent < documents.length;
    for (let guard = 0; unsent(); guard++) {
      if (guard >= 20 + documents.length) {
        // Migrations, fallbacks and bot switches went round too often: try again later rather than drop it.
        await this.d.queue.enqueue(SEND_KIND, { deliveryId: d.id }, { org: d.org, delayMs: 5000 });
        return;
      }
      const slot = this.d.gate.reserve(bot.id, String(chat.tgChatId), {
        group: chat.kind === "group",
        withinMs: INLINE_WAIT_MS,
      });
      if (!slot.booked) {
        await this.d.queue.enqueue(SEND_KIND, { deliveryId: d.id }, { org: d.org, delayMs: slot.wait });
        return;
      }
      if (slot.wait > 0) await this.d.clock.sleep(slot.wait);
      const api = await this.d.bots.api(bot);
      const thread = d.threadId ? { message_thread_id: d.threadId } : {};
      try {
        if (sentParts < parts.length) {
          await api.sendMessage(chat.tgChatId, parts[sentParts], {
            ...(plain ? {} : { parse_mode: "HTML" as const }),
            ...thread,
            link_preview_options: { is_disabled: true },
          });
          sentParts++;
          await this.d.store.updateDelivery(
            d.org,
            d.id,
            () => ({ partsSent: sentParts, parts: parts.length, botId: bot!.id }),
          );
        } else {
          const doc = documents[docsSent];
          const bytes = await readBlob(this.d.kv, d.org, doc.blobId);
          if (bytes) await api.sendDocument(chat.tgChatId, new (await grammy()).InputFile(bytes, doc.filename), thread);
          else this.d.log.warn("attachment no longer kept, not sent", { delivery: d.id, file: doc.filename });
          docsSent++;
          await this.d.store.updateDelivery(d.org, d.id, () => ({ documentsSent: docsSent, botId: bot!.id }));
        }
        continue;
      } catch (error) {
        const f = classifyTelegramError(error);
        switch (f.kind) {
          case "rate":
            this.d.gate.block(String(chat.tgChatId), f.retryAfterMs);
            await this.d.store.updateDelivery(d.org, d.id, () => ({ status: "retrying", error: f.reason }));
            await this.d.queue.enqueue(SEND_KIND, { deliveryId: d.id }, { org: d.org, delayMs: f.retryAfterMs });
            return;
          case "migrated": {
            const moved = await this.d.store.migrateChat(d.org, chat.tgChatId, f.newChatId);
            if (!moved) return await this.fail(d, f.reason);
            chat = moved;
            continue;
          }
          case "html":
            if (plain) return await this.fail(d, f.reason);
            // Telegram refused the markup: the same text as plain text, rather than nothing.
            plain = true;
            parts = splitMessage(htmlToPlain(d.text));
            sentParts = 0;
            await this.d.store.updateDelivery(d.org, d.id, () => ({ plainFallback: true, partsSent: 0 }));
            continue;
          case "chat": {
            const status = f.status;
            const botIds = chat.botIds.filter((b) => b !== bot!.id);
            // A kicked or departed bot loses the group; a blocked contact or deleted chat loses every bot.
            const onlyBot = status === "kicked" || status === "left";
            const next = await this.d.store.updateChat(
              d.org,
              chat.id,
              (c) =>
                onlyBot && botIds.length ? { botIds: c.botIds.filter((b) => b !== bot!.id) } : {
                  status,
                  statusReason: f.reason,
                  botIds: onlyBot ? c.botIds.filter((b) => b !== bot!.id) : c.botIds,
                },
            );
            await this.d.events.publish(d.org, "notify.chat_lost", {
              chatId: chat.id,
              chat: chat.title,
              bot: bot.username,
              reason: f.reason,
            });
            if (onlyBot && next && next.botIds.length) {
              chat = next;
              excluded.add(bot.id);
              const other = await this.#pickBot(d, chat, excluded);
              if (other) {
                bot = other;
                continue;
              }
            }
            return await this.fail(d, f.reason);
          }
          case "token": {
            await this.d.bots.markFailed(bot, "revoked", f.reason);
            excluded.add(bot.id);
            const other = await this.#pickBot(d, chat, excluded);
            if (!other) return await this.fail(d, `@${bot.username}: ${f.reason}`);
            bot = other;
            continue;
          }
          case "transient":
            throw new Transient(f.reason, { service: "Telegram" });
          case "refused":
            return await this.fail(d, f.reason);
        }
      }
    }
    if (!unsent()) await this.#sent(d, bot.username, { partsSent: sentParts, parts: parts.length });
  }
}
