/** Shapes the notification islands receive (plain data, as the API answers) and their status words. */
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

export interface BotItem {
  id: string;
  username: string;
  name: string;
  status: "ok" | "failing" | "revoked";
  mode: "webhook" | "polling";
  lastError?: string;
  lastErrorAt?: string;
}

export interface ChatItem {
  id: string;
  kind: "group" | "contact";
  tgChatId: number;
  title: string;
  botIds: string[];
  status: "active" | "pending" | "kicked" | "blocked" | "deleted" | "left";
  statusReason?: string;
  isForum?: boolean;
}

export interface MailboxItem {
  id: string;
  name: string;
  protocol: "imap" | "pop3";
  host: string;
  port: number;
  user: string;
  status: "new" | "ok" | "failing";
  lastError?: string;
  received: number;
  /** Received mails over the hub's size cap (notified from their headers only). */
  oversized?: number;
  forwardAttachments?: boolean;
  attachmentMaxBytes?: number;
}

export interface RuleItem {
  id: string;
  name: string;
  enabled: boolean;
  eventType: string;
  match: "all" | "any";
  conditions: Array<{ field: string; op: "contains" | "equals" | "regex"; value: string }>;
  template: string;
  botId?: string;
  targets: Array<{ chatId: string; threadId?: number }>;
  webhookUrl?: string;
  repeatMinutes?: number;
  repeatKey?: string;
  digestMinutes?: number;
  preset?: string;
}

export interface DeliveryItem {
  id: string;
  ruleName?: string;
  eventType?: string;
  channel: "telegram" | "webhook";
  targetName: string;
  text: string;
  status: "queued" | "sent" | "failed" | "retrying";
  error?: string;
  parts: number;
  createdAt: string;
  updatedAt: string;
}

export interface EventTypeItem {
  type: string;
  description: string;
  fields: string[];
}

export const BOT_STATUS: Record<BotItem["status"], MessageKey> = {
  ok: "notify.bots.status.ok",
  failing: "notify.bots.status.failing",
  revoked: "notify.bots.status.revoked",
};

export const CHAT_STATUS: Record<ChatItem["status"], MessageKey> = {
  active: "notify.status.active",
  pending: "notify.status.pending",
  kicked: "notify.status.kicked",
  blocked: "notify.status.blocked",
  deleted: "notify.status.deleted",
  left: "notify.status.left",
};

export const MAIL_STATUS: Record<MailboxItem["status"], MessageKey> = {
  new: "notify.mail.status.new",
  ok: "notify.mail.status.ok",
  failing: "notify.mail.status.failing",
};

export const DELIVERY_STATUS: Record<DeliveryItem["status"], MessageKey> = {
  queued: "notify.log.status.queued",
  sent: "notify.log.status.sent",
  failed: "notify.log.status.failed",
  retrying: "notify.log.status.retrying",
};

export const OPS: Record<RuleItem["conditions"][number]["op"], MessageKey> = {
  contains: "notify.rules.op.contains",
  equals: "notify.rules.op.equals",
  regex: "notify.rules.op.regex",
};
