/**
 * A fake of the Telegram Bot API, faithful to /work/shared/reference/telegram.md:
 * `POST /bot<token>/<method>` answering `{ok, result}` or `{ok: false,
 * error_code, description, parameters?}` with the HTTP status equal to the
 * code; 401 for a revoked or unknown token, 404 for an unknown method; 403
 * "bot was kicked" / "blocked by the user" / "the group chat was deleted";
 * 400 "chat not found", "group chat was upgraded to a supergroup chat" with
 * `migrate_to_chat_id`, "can't parse entities" for HTML Telegram would refuse,
 * "message is too long" over 4,096 characters; 429 with `retry_after` (and a
 * `Retry-After` header) above 1 message/s per chat or 20/min per group;
 * sendDocument as a multipart/form-data upload (a file part named by an
 * `attach://` reference, as grammY sends it; 50 MB, captions up to 1,024
 * characters; the bytes are kept for the tests);
 * setWebhook (secret token rules), getWebhookInfo, deleteWebhook, getUpdates
 * with a long-poll timeout and the two 409 conflicts. Updates are delivered
 * to the webhook (with `X-Telegram-Bot-Api-Secret-Token`) or queued for
 * getUpdates. `GET /` shows every chat like a chat window (the demo's view).
 *
 * Wording marked UNCONFIRMED in the reference ("can't parse entities",
 * "message is too long") follows TDLib's usual text.
 */
import { Hono } from "hono";
import { serve } from "./_fault.ts";

export interface FakeBot {
  id: number;
  token: string;
  username: string;
  firstName: string;
  revoked: boolean;
  webhook: {
    url: string;
    secretToken?: string;
    allowedUpdates?: string[];
    lastErrorMessage?: string;
    lastErrorDate?: number;
  };
  queue: Record<string, unknown>[];
  nextUpdateId: number;
  polling: boolean;
}

export interface FakeChat {
  id: number;
  type: "private" | "group" | "supergroup";
  title?: string;
  firstName?: string;
  username?: string;
  isForum?: boolean;
  /** Bot ids that are members. */
  members: Set<number>;
  /** Bot ids that were kicked. */
  kicked: Set<number>;
  /** Bot ids blocked by this private chat's user. */
  blockedBy: Set<number>;
  migratedTo?: number;
  deleted?: boolean;
}

export interface SentMessage {
  message_id: number;
  botId: number;
  botUsername: string;
  chatId: number;
  threadId?: number;
  text: string;
  parseMode?: string;
  /** A sendDocument upload: the file as it arrived. */
  document?: { filename: string; size: number; bytes: Uint8Array };
  date: number;
}

export interface TelegramFakeOptions {
  port?: number;
  /** Messages per second per chat before 429 (Telegram: about 1). 0 = unlimited. Default 1, burst 3. */
  perChatPerSec?: number;
  perChatBurst?: number;
  /** Messages per minute per group before 429 (Telegram: 20). 0 = unlimited. */
  perGroupPerMin?: number;
  /** The window of `perGroupPerMin`, ms (default a minute; the benchmark compresses it). */
  groupWindowMs?: number;
  /** The clock the rate limits use (tests may drive it). */
  now?: () => number;
}

/** Where the fake really POSTs a webhook URL (a test hub's PUBLIC_URL is not reachable). */
export type WebhookRewrite = (url: string) => string;

type TgError = { code: number; description: string; parameters?: Record<string, number> };

export interface TelegramFake {
  url: string;
  apiRoot: string;
  bots: Map<string, FakeBot>;
  chats: Map<number, FakeChat>;
  sent: SentMessage[];
  calls: Array<{ token: string; method: string; body: Record<string, unknown> }>;
  /** The next calls of `method` answer this error (once each). */
  failNext(method: string, error: TgError, times?: number): void;
  /** Creates a bot; returns its token. */
  createBot(username: string, opts?: { id?: number; firstName?: string }): string;
  createGroup(title: string, opts?: { id?: number; supergroup?: boolean; forum?: boolean }): FakeChat;
  createUser(firstName: string, opts?: { id?: number; username?: string }): FakeChat;
  /** Adds the bot to the group and sends it the `my_chat_member` update. */
  addBotToGroup(token: string, chatId: number): Promise<void>;
  /** Kicks the bot (sends `my_chat_member` with status kicked). */
  kickBot(token: string, chatId: number, { notify }?: { notify?: boolean }): Promise<void>;
  /** Upgrades a group to a supergroup with a new id (sends the service messages). */
  migrate(chatId: number, newId?: number): Promise<number>;
  /** A private message from a user to the bot (e.g. "/start"). */
  userWrites(token: string, userChatId: number, text: string): Promise<void>;
  revoke(token: string): void;
  /** Queues or delivers an update to the bot. */
  pushUpdate(token: string, update: Record<string, unknown>): Promise<void>;
  messagesIn(chatId: number): SentMessage[];
  /** Set to deliver webhook updates somewhere else than the registered URL. */
  rewriteWebhook: WebhookRewrite | null;
  close(): Promise<void>;
}

const ALLOWED_TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "span",
  "tg-spoiler",
  "a",
  "tg-emoji",
  "tg-time",
  "code",
  "pre",
  "blockquote",
]);

/** Why Telegram would refuse `text` as HTML, or null; and the text after entity parsing. */
export function parseTelegramHtml(text: string): { error: string } | { plain: string } {
  const stack: string[] = [];
  let plain = "";
  const bytes = (i: number) => new TextEncoder().encode(text.slice(0, i)).length;
  for (let i = 0; i < text.length;) {
    const ch = text[i];
    if (ch === "<") {
      const end = text.indexOf(">", i);
      if (end < 0) return { error: `Can't find end of the entity starting at byte offset ${bytes(i)}` };
      const inner = text.slice(i + 1, end);
      const closing = inner.startsWith("/");
      const name = (closing ? inner.slice(1) : inner).trim().split(/\s/)[0].toLowerCase();
      if (!ALLOWED_TAGS.has(name)) {
        return { error: `Unsupported start tag "${name}" at byte offset ${bytes(i)}` };
      }
      if (closing) {
        if (stack.pop() !== name) {
          return { error: `Unmatched end tag at byte offset ${bytes(i)}, expected "</${name}>"` };
        }
      } else stack.push(name);
      i = end + 1;
    } else if (ch === "&") {
      const m = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/i.exec(text.slice(i, i + 12));
      if (!m) return { error: `Unsupported entity at byte offset ${bytes(i)}` };
      plain += m[1] === "lt" ? "<" : m[1] === "gt" ? ">" : m[1] === "amp" ? "&" : m[1] === "quot" ? '"' : "?";
      i += m[0].length;
    } else if (ch === ">") {
      return { error: `Character '>' is reserved and must be escaped with the preceding '\\'` };
    } else {
      plain += ch;
      i++;
    }
  }
  if (stack.length) return { error: `Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { plain };
}

/** One part of a multipart/form-data body; `filename` is set for a file part. */
export interface UploadedFile {
  name: string;
  filename?: string;
  contentType?: string;
  text: string;
  bytes: Uint8Array;
}

/**
 * Splits a multipart/form-data body into its parts. Lenient the way the Bot
 * API server is: header names in any case with or without a space after the
 * colon, and `filename=` quoted or bare up to the end of the line (grammY
 * writes it bare: `content-disposition:form-data;name="x";filename=a b.pdf`).
 */
export function parseMultipart(body: Uint8Array, boundary: string): UploadedFile[] {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const delimiter = enc.encode(`--${boundary}`);
  const indexOf = (needle: Uint8Array, from: number) => {
    outer: for (let i = from; i <= body.length - needle.length; i++) {
      for (let j = 0; j < needle.length; j++) if (body[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  };
  const parts: UploadedFile[] = [];
  let at = indexOf(delimiter, 0);
  while (at >= 0) {
    let start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // the closing "--boundary--"
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    const next = indexOf(delimiter, start);
    if (next < 0) break;
    // The part ends with the CRLF before the next delimiter.
    const end = body[next - 2] === 0x0d && body[next - 1] === 0x0a ? next - 2 : next;
    const headerEnd = indexOf(enc.encode("\r\n\r\n"), start);
    if (headerEnd < 0 || headerEnd > end) {
      at = next;
      continue;
    }
    const headers = dec.decode(body.subarray(start, headerEnd)).split("\r\n");
    const bytes = body.slice(headerEnd + 4, end);
    let name = "";
    let filename: string | undefined;
    let contentType: string | undefined;
    for (const line of headers) {
      const colon = line.indexOf(":");
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === "content-type") contentType = value;
      if (key !== "content-disposition") continue;
      name = /(?:^|;)\s*name="([^"]*)"/i.exec(value)?.[1] ?? /(?:^|;)\s*name=([^;]*)/i.exec(value)?.[1] ?? "";
      const f = /(?:^|;)\s*filename="([^"]*)"/i.exec(value) ?? /(?:^|;)\s*filename=(.*)$/i.exec(value);
      if (f) filename = f[1];
    }
    parts.push({ name, filename, contentType, text: dec.decode(bytes), bytes });
    at = next;
  }
  return parts;
}

/** Starts the fake on 127.0.0.1. */
export function startTelegramFake(
  { port = 0, perChatPerSec = 1, perChatBurst = 3, perGroupPerMin = 20, groupWindowMs = 60_000, now = Date.now }:
    TelegramFakeOptions = {},
): TelegramFake {
  const bots = new Map<string, FakeBot>();
  const chats = new Map<number, FakeChat>();
  const sent: SentMessage[] = [];
  const calls: TelegramFake["calls"] = [];
  const failures = new Map<string, TgError[]>();
  const waiters = new Map<string, Set<() => void>>();
  const closing = new AbortController();
  const buckets = new Map<string, { tokens: number; at: number }>();
  const groupWindows = new Map<number, number[]>();
  let nextMessageId = 1;
  let nextId = 7_000_000_001;
  let nextChat = 500_000_001;

  const ok = (result: unknown, description?: string) =>
    Response.json({ ok: true, result, ...(description ? { description } : {}) });
  const fail = ({ code, description, parameters }: TgError) => {
    const headers: Record<string, string> = {};
    if (code === 429 && parameters?.retry_after) headers["retry-after"] = String(parameters.retry_after);
    return Response.json({ ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) }, {
      status: code,
      headers,
    });
  };
  const botUser = (b: FakeBot) => ({ id: b.id, is_bot: true, first_name: b.firstName, username: b.username });
  const chatObj = (c: FakeChat) => ({
    id: c.id,
    type: c.type,
    ...(c.title ? { title: c.title } : {}),
    ...(c.firstName ? { first_name: c.firstName } : {}),
    ...(c.username ? { username: c.username } : {}),
    ...(c.isForum ? { is_forum: true } : {}),
  });

  function wake(token: string) {
    for (const fn of waiters.get(token) ?? []) fn();
  }

  async function pushUpdate(token: string, update: Record<string, unknown>) {
    const bot = bots.get(token);
    if (!bot) throw new Error(`fake telegram: no bot ${token.split(":")[0]}`);
    const full = { update_id: bot.nextUpdateId++, ...update };
    if (bot.webhook.url) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (bot.webhook.secretToken) headers["x-telegram-bot-api-secret-token"] = bot.webhook.secretToken;
      try {
        const res = await fetch(fake.rewriteWebhook ? fake.rewriteWebhook(bot.webhook.url) : bot.webhook.url, {
          method: "POST",
          headers,
          body: JSON.stringify(full),
        });
        await res.body?.cancel();
        if (!res.ok) {
          bot.webhook.lastErrorMessage = `Wrong response from the webhook: ${res.status} ${res.statusText}`;
          bot.webhook.lastErrorDate = Math.floor(now() / 1000);
        }
      } catch (error) {
        bot.webhook.lastErrorMessage = `Connection refused: ${(error as Error).message.slice(0, 80)}`;
        bot.webhook.lastErrorDate = Math.floor(now() / 1000);
      }
      return;
    }
    bot.queue.push(full);
    wake(token);
  }

  function rateLimited(chat: FakeChat): TgError | null {
    const t = now();
    if (perChatPerSec > 0) {
      const b = buckets.get(String(chat.id)) ?? { tokens: perChatBurst, at: t };
      b.tokens = Math.min(perChatBurst, b.tokens + ((t - b.at) / 1000) * perChatPerSec);
      b.at = t;
      buckets.set(String(chat.id), b);
      if (b.tokens < 1) {
        const retry = Math.max(1, Math.ceil((1 - b.tokens) / perChatPerSec));
        return {
          code: 429,
          description: `Too Many Requests: retry after ${retry}`,
          parameters: { retry_after: retry },
        };
      }
      b.tokens -= 1;
    }
    if (perGroupPerMin > 0 && chat.type !== "private") {
      const w = (groupWindows.get(chat.id) ?? []).filter((x) => t - x < groupWindowMs);
      if (w.length >= perGroupPerMin) {
        const retry = Math.max(1, Math.ceil((groupWindowMs - (t - w[0])) / 1000));
        groupWindows.set(chat.id, w);
        return {
          code: 429,
          description: `Too Many Requests: retry after ${retry}`,
          parameters: { retry_after: retry },
        };
      }
      w.push(t);
      groupWindows.set(chat.id, w);
    }
    return null;
  }

  function chatFor(bot: FakeBot, raw: unknown): FakeChat | TgError {
    const id = Number(raw);
    const chat = chats.get(id);
    if (!chat || !Number.isFinite(id)) return { code: 400, description: "Bad Request: chat not found" };
    if (chat.migratedTo) {
      return {
        code: 400,
        description: "Bad Request: group chat was upgraded to a supergroup chat",
        parameters: { migrate_to_chat_id: chat.migratedTo },
      };
    }
    if (chat.deleted) return { code: 403, description: "Forbidden: the group chat was deleted" };
    if (chat.type === "private") {
      if (chat.blockedBy.has(bot.id)) return { code: 403, description: "Forbidden: bot was blocked by the user" };
      return chat;
    }
    if (chat.kicked.has(bot.id)) {
      return { code: 403, description: `Forbidden: bot was kicked from the ${chat.type} chat` };
    }
    if (!chat.members.has(bot.id)) {
      return { code: 403, description: `Forbidden: bot is not a member of the ${chat.type} chat` };
    }
    return chat;
  }

  async function bodyOf(req: Request): Promise<Record<string, unknown>> {
    const type = req.headers.get("content-type") ?? "";
    if (type.includes("application/json")) return await req.json().catch(() => ({}));
    if (type.includes("multipart/form-data")) {
      const boundary = /boundary=("?)([^";]+)\1/i.exec(type)?.[2];
      if (!boundary) return {};
      const fields = parseMultipart(new Uint8Array(await req.arrayBuffer()), boundary);
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f.name] = f.filename === undefined ? f.text : f;
      // `attach://<name>` points at the file part of that name (how grammY uploads every file).
      for (const [k, v] of Object.entries(out)) {
        if (typeof v === "string" && v.startsWith("attach://")) out[k] = out[v.slice("attach://".length)];
      }
      return out;
    }
    if (type.includes("application/x-www-form-urlencoded")) {
      return Object.fromEntries(new URLSearchParams(await req.text()));
    }
    const url = new URL(req.url);
    await req.body?.cancel();
    return Object.fromEntries(url.searchParams);
  }

  const methods: Record<
    string,
    (bot: FakeBot, body: Record<string, unknown>, req: Request) => Response | Promise<Response>
  > = {
    getme: (bot) => ok({ ...botUser(bot), can_join_groups: true, can_read_all_group_messages: false }),
    getchat: (bot, body) => {
      const c = chatFor(bot, body.chat_id);
      return "code" in c ? fail(c) : ok(chatObj(c));
    },
    sendmessage: (bot, body) => {
      const c = chatFor(bot, body.chat_id);
      if ("code" in c) return fail(c);
      const text = String(body.text ?? "");
      if (!text.trim()) return fail({ code: 400, description: "Bad Request: message text is empty" });
      let visible = text;
      if (body.parse_mode === "HTML") {
        const parsed = parseTelegramHtml(text);
        if ("error" in parsed) {
          return fail({ code: 400, description: `Bad Request: can't parse entities: ${parsed.error}` });
        }
        visible = parsed.plain;
      }
      if (visible.length > 4096) return fail({ code: 400, description: "Bad Request: message is too long" });
      const thread = body.message_thread_id === undefined ? undefined : Number(body.message_thread_id);
      if (thread !== undefined && !c.isForum) {
        return fail({ code: 400, description: "Bad Request: message thread not found" });
      }
      const limited = rateLimited(c);
      if (limited) return fail(limited);
      const msg: SentMessage = {
        message_id: nextMessageId++,
        botId: bot.id,
        botUsername: bot.username,
        chatId: c.id,
        threadId: thread,
        text,
        parseMode: body.parse_mode as string | undefined,
        date: Math.floor(now() / 1000),
      };
      sent.push(msg);
      return ok({ message_id: msg.message_id, date: msg.date, chat: chatObj(c), text: visible, from: botUser(bot) });
    },
    senddocument: (bot, body) => {
      const c = chatFor(bot, body.chat_id);
      if ("code" in c) return fail(c);
      // A file_id or URL (a string) would name a file Telegram already has; the hub always uploads.
      const doc = body.document as UploadedFile | string | undefined;
      if (!doc || typeof doc === "string") {
        return fail({ code: 400, description: "Bad Request: there is no document in the request" });
      }
      // Bots upload up to 50 MB (UNCONFIRMED wording of the refusal).
      if (doc.bytes.length > 50 * 1024 * 1024) return fail({ code: 413, description: "Request Entity Too Large" });
      if (doc.bytes.length === 0) return fail({ code: 400, description: "Bad Request: file must be non-empty" });
      const caption = String(body.caption ?? "");
      if (caption.length > 1024) return fail({ code: 400, description: "Bad Request: message caption is too long" });
      const thread = body.message_thread_id === undefined ? undefined : Number(body.message_thread_id);
      if (thread !== undefined && !c.isForum) {
        return fail({ code: 400, description: "Bad Request: message thread not found" });
      }
      const limited = rateLimited(c);
      if (limited) return fail(limited);
      const msg: SentMessage = {
        message_id: nextMessageId++,
        botId: bot.id,
        botUsername: bot.username,
        chatId: c.id,
        threadId: thread,
        text: caption,
        document: { filename: doc.filename ?? "document", size: doc.bytes.length, bytes: doc.bytes },
        date: Math.floor(now() / 1000),
      };
      sent.push(msg);
      return ok({
        message_id: msg.message_id,
        date: msg.date,
        chat: chatObj(c),
        from: botUser(bot),
        document: {
          file_id: `BQACAgIAAx${msg.message_id}`,
          file_unique_id: `AgAD${msg.message_id}`,
          file_name: msg.document!.filename,
          mime_type: doc.contentType,
          file_size: doc.bytes.length,
        },
        ...(caption ? { caption } : {}),
      });
    },
    setwebhook: (bot, body) => {
      const url = String(body.url ?? "");
      const secret = body.secret_token === undefined ? undefined : String(body.secret_token);
      if (secret !== undefined) {
        if (secret.length > 256) return fail({ code: 400, description: "Bad Request: secret token is too long" });
        if (!/^[A-Za-z0-9_-]*$/.test(secret)) {
          return fail({ code: 400, description: "Bad Request: secret token contains unallowed characters" });
        }
      }
      if (url === "") {
        const had = bot.webhook.url !== "";
        bot.webhook = { url: "" };
        return ok(true, had ? "Webhook was deleted" : "Webhook is already deleted");
      }
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return fail({ code: 400, description: "Bad Request: invalid webhook URL specified" });
      }
      if (u.protocol !== "https:" && u.hostname !== "127.0.0.1") {
        return fail({ code: 400, description: "Bad Request: bad webhook: An HTTPS URL must be provided for webhook" });
      }
      const allowed = typeof body.allowed_updates === "string"
        ? JSON.parse(body.allowed_updates)
        : body.allowed_updates as string[] | undefined;
      const same = bot.webhook.url === url && bot.webhook.secretToken === secret;
      bot.webhook = { url, secretToken: secret, allowedUpdates: allowed ?? bot.webhook.allowedUpdates };
      if (body.drop_pending_updates) bot.queue = [];
      wake(bot.token);
      return ok(true, same ? "Webhook is already set" : "Webhook was set");
    },
    deletewebhook: (bot, body) => {
      const had = bot.webhook.url !== "";
      bot.webhook = { url: "" };
      if (body.drop_pending_updates) bot.queue = [];
      return ok(true, had ? "Webhook was deleted" : "Webhook is already deleted");
    },
    getwebhookinfo: (bot) =>
      ok({
        url: bot.webhook.url,
        has_custom_certificate: false,
        pending_update_count: bot.queue.length,
        ...(bot.webhook.lastErrorMessage
          ? { last_error_message: bot.webhook.lastErrorMessage, last_error_date: bot.webhook.lastErrorDate }
          : {}),
        ...(bot.webhook.allowedUpdates ? { allowed_updates: bot.webhook.allowedUpdates } : {}),
        max_connections: 40,
      }),
    getupdates: async (bot, body, req) => {
      if (bot.webhook.url) {
        return fail({
          code: 409,
          description:
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        });
      }
      if (bot.polling) {
        return fail({
          code: 409,
          description:
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        });
      }
      const offset = Number(body.offset ?? 0);
      if (offset) bot.queue = bot.queue.filter((u) => Number(u.update_id) >= offset);
      const limit = Math.min(100, Math.max(1, Number(body.limit ?? 100)));
      const timeout = Math.min(50, Math.max(0, Number(body.timeout ?? 0)));
      if (bot.queue.length === 0 && timeout > 0) {
        bot.polling = true;
        try {
          await new Promise<void>((resolve) => {
            const set = waiters.get(bot.token) ?? new Set();
            waiters.set(bot.token, set);
            const done = () => {
              clearTimeout(timer);
              set.delete(done);
              req.signal.removeEventListener("abort", done);
              closing.signal.removeEventListener("abort", done);
              resolve();
            };
            const timer = setTimeout(done, timeout * 1000);
            set.add(done);
            req.signal.addEventListener("abort", done);
            closing.signal.addEventListener("abort", done);
          });
        } finally {
          bot.polling = false;
        }
      }
      if (bot.webhook.url) return ok([]);
      return ok(bot.queue.slice(0, limit));
    },
  };

  const app = new Hono();
  app.get("/", (c) => c.html(chatPage(chats, sent)));
  app.get("/messages.json", (c) => c.json(sent));
  app.all("/:seg/:method", async (c) => {
    const seg = c.req.param("seg");
    if (!seg.startsWith("bot")) return fail({ code: 404, description: "Not Found" });
    const token = seg.slice(3);
    const method = c.req.param("method").toLowerCase();
    const body = await bodyOf(c.req.raw);
    calls.push({ token, method, body });
    if (!/^\d+:[\w-]{20,}$/.test(token)) {
      return fail({ code: 401, description: "Unauthorized: invalid token specified" });
    }
    const bot = bots.get(token);
    if (!bot || bot.revoked) return fail({ code: 401, description: "Unauthorized" });
    const impl = methods[method];
    if (!impl) return fail({ code: 404, description: "Not Found: method not found" });
    const queued = failures.get(method);
    if (queued?.length) return fail(queued.shift()!);
    return await impl(bot, body, c.req.raw);
  });
  const { url, server } = serve(app.fetch, port);

  const fake: TelegramFake = {
    url,
    apiRoot: url,
    bots,
    chats,
    sent,
    calls,
    failNext(method, error, times = 1) {
      const list = failures.get(method.toLowerCase()) ?? [];
      for (let i = 0; i < times; i++) list.push(error);
      failures.set(method.toLowerCase(), list);
    },
    createBot(username, { id = nextId++, firstName = username } = {}) {
      const token = `${id}:AA${crypto.randomUUID().replaceAll("-", "")}`;
      bots.set(token, {
        id,
        token,
        username,
        firstName,
        revoked: false,
        webhook: { url: "" },
        queue: [],
        nextUpdateId: 870_001,
        polling: false,
      });
      return token;
    },
    createGroup(title, { id, supergroup = false, forum = false } = {}) {
      const chatId = id ?? (supergroup || forum ? -1_000_000_000_000 - nextChat++ : -nextChat++);
      const chat: FakeChat = {
        id: chatId,
        type: supergroup || forum ? "supergroup" : "group",
        title,
        isForum: forum || undefined,
        members: new Set(),
        kicked: new Set(),
        blockedBy: new Set(),
      };
      chats.set(chatId, chat);
      return chat;
    },
    createUser(firstName, { id = nextChat++, username } = {}) {
      const chat: FakeChat = {
        id,
        type: "private",
        firstName,
        username,
        members: new Set(),
        kicked: new Set(),
        blockedBy: new Set(),
      };
      chats.set(id, chat);
      return chat;
    },
    async addBotToGroup(token, chatId) {
      const bot = bots.get(token)!;
      const chat = chats.get(chatId)!;
      chat.members.add(bot.id);
      chat.kicked.delete(bot.id);
      await pushUpdate(token, {
        my_chat_member: {
          chat: chatObj(chat),
          from: { id: 111111, is_bot: false, first_name: "Ivan", username: "ivan" },
          date: Math.floor(now() / 1000),
          old_chat_member: { status: "left", user: botUser(bot) },
          new_chat_member: { status: "member", user: botUser(bot) },
        },
      });
    },
    async kickBot(token, chatId, { notify = true } = {}) {
      const bot = bots.get(token)!;
      const chat = chats.get(chatId)!;
      chat.members.delete(bot.id);
      chat.kicked.add(bot.id);
      if (!notify) return;
      await pushUpdate(token, {
        my_chat_member: {
          chat: chatObj(chat),
          from: { id: 111111, is_bot: false, first_name: "Ivan" },
          date: Math.floor(now() / 1000),
          old_chat_member: { status: "member", user: botUser(bot) },
          new_chat_member: { status: "kicked", user: botUser(bot), until_date: 0 },
        },
      });
    },
    async migrate(chatId, newId) {
      const old = chats.get(chatId)!;
      const id = newId ?? -1_000_000_000_000 - nextChat++;
      const sup: FakeChat = {
        ...old,
        id,
        type: "supergroup",
        members: new Set(old.members),
        kicked: new Set(old.kicked),
      };
      chats.set(id, sup);
      old.migratedTo = id;
      for (const bot of bots.values()) {
        if (!old.members.has(bot.id)) continue;
        await pushUpdate(bot.token, {
          message: {
            message_id: nextMessageId++,
            date: Math.floor(now() / 1000),
            chat: chatObj(old),
            migrate_to_chat_id: id,
          },
        });
      }
      return id;
    },
    async userWrites(token, userChatId, text) {
      const chat = chats.get(userChatId)!;
      const entities = text.startsWith("/")
        ? [{ type: "bot_command", offset: 0, length: text.split(" ")[0].length }]
        : [];
      await pushUpdate(token, {
        message: {
          message_id: nextMessageId++,
          date: Math.floor(now() / 1000),
          chat: chatObj(chat),
          from: { id: chat.id, is_bot: false, first_name: chat.firstName ?? "User", username: chat.username },
          text,
          ...(entities.length ? { entities } : {}),
        },
      });
    },
    revoke(token) {
      bots.get(token)!.revoked = true;
    },
    pushUpdate,
    messagesIn(chatId) {
      return sent.filter((m) => m.chatId === chatId);
    },
    rewriteWebhook: null,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
  return fake;
}

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The demo's view: every chat with its messages, newest last, like a chat window. */
function chatPage(chats: Map<number, FakeChat>, sent: SentMessage[]): string {
  const blocks = [...chats.values()].filter((c) => !c.migratedTo).map((c) => {
    const msgs = sent.filter((m) => m.chatId === c.id).slice(-50).map((m) => {
      const body = m.parseMode === "HTML" ? m.text.replaceAll("\n", "<br>") : esc(m.text).replaceAll("\n", "<br>");
      const doc = m.document ? `<div class="doc">📎 ${esc(m.document.filename)} (${m.document.size} B)</div>` : "";
      const time = new Date(m.date * 1000).toISOString().slice(11, 19);
      return `<div class="msg" data-chat="${c.id}"><div class="from">@${esc(m.botUsername)}${
        m.threadId ? ` · тема ${m.threadId}` : ""
      } <span>${time}</span></div>${body}${doc}</div>`;
    }).join("");
    const name = c.title ?? c.firstName ?? String(c.id);
    return `<section><h2>${esc(name)} <small>${c.type} ${c.id}</small></h2>${msgs || "<p>нет сообщений</p>"}</section>`;
  }).join("");
  return `<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="refresh" content="3"><title>Fake Telegram</title><style>
body{font-family:sans-serif;background:#e7ebf0;margin:0;padding:8px}section{max-width:640px;margin:8px auto;background:#fff;border-radius:8px;padding:8px}
h2{font-size:1rem;margin:4px}small{color:#888;font-weight:normal}.msg{background:#effdde;border-radius:8px;padding:6px 8px;margin:6px 0;overflow-wrap:anywhere}
.from{font-size:.8rem;color:#3a6d99}.from span{color:#999;float:right}.doc{color:#555}</style></head>
<body><h1 style="font-size:1.1rem;text-align:center">Fake Telegram — sent messages</h1>${blocks}</body></html>`;
}
