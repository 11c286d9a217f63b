/**
 * The events notifications and mailboxes publish, declared once for the hub's
 * event catalogue (lib/events/catalogue.ts spreads this record).
 */
import { z } from "zod";
import { defineEvent } from "../events/define.ts";

export const notifyEvents = {
  "mail.received": defineEvent({
    title: { ru: "Новое письмо", en: "Mail received" },
    description: "A new mail arrived in a watched mailbox (IMAP or POP3)",
    schema: z.object({
      mailboxId: z.string(),
      mailbox: z.string(),
      /** Stable across re-reads of the same mail: rules dedupe their sends on it. */
      dedupeKey: z.string(),
      messageId: z.string(),
      from: z.string(),
      to: z.string(),
      subject: z.string(),
      text: z.string(),
      attachments: z.array(z.object({
        filename: z.string(),
        mimeType: z.string(),
        size: z.number(),
        /** Kept to be forwarded as a document (the mailbox forwards attachments, this one is under its cap). */
        blobId: z.string().optional(),
        /** Why it is listed but not forwarded (over the mailbox's size cap). */
        skipped: z.string().optional(),
      })),
      /** The mail's size, bytes (as the server stated it when it was not downloaded). */
      size: z.number().optional(),
      /**
       * Over the hub's size cap (SHLYUZ_MAIL_MAX_MESSAGE_BYTES): only the headers were read, `text` is a
       * note saying so and there are no attachments.
       */
      oversized: z.boolean().optional(),
    }),
  }),
  "notify.sent": defineEvent({
    title: { ru: "Уведомление отправлено", en: "Notification sent" },
    description: "A notification was delivered to a Telegram chat",
    schema: z.object({ deliveryId: z.string(), ruleId: z.string().optional(), chat: z.string(), bot: z.string() }),
  }),
  "notify.failed": defineEvent({
    title: { ru: "Уведомление не доставлено", en: "Notification failed" },
    description: "A notification could not be delivered (kicked from a group, chat deleted, retries used up)",
    schema: z.object({
      deliveryId: z.string(),
      ruleId: z.string().optional(),
      chat: z.string(),
      bot: z.string(),
      reason: z.string(),
    }),
  }),
  "bot.failed": defineEvent({
    title: { ru: "Бот не работает", en: "Bot failed" },
    description: "A Telegram bot stopped working (token revoked, webhook failing)",
    schema: z.object({ botId: z.string(), bot: z.string(), reason: z.string() }),
  }),
  "notify.chat_lost": defineEvent({
    title: { ru: "Чат потерян", en: "Chat lost" },
    description: "A bot was removed or kicked from a group, or a contact blocked it",
    schema: z.object({ chatId: z.string(), chat: z.string(), bot: z.string(), reason: z.string() }),
  }),
  "notify.contact_requested": defineEvent({
    title: { ru: "Запрос на контакт", en: "Contact requested" },
    description: "Someone wrote /start to a bot: their chat waits for an admin's approval as a contact",
    schema: z.object({ chatId: z.string(), name: z.string(), username: z.string(), bot: z.string() }),
  }),
  "mail.failed": defineEvent({
    title: { ru: "Почтовый ящик недоступен", en: "Mailbox failed" },
    description: "A mailbox could not be read; the text is the server's own error",
    schema: z.object({ mailboxId: z.string(), mailbox: z.string(), reason: z.string() }),
  }),
};
