/**
 * Mailboxes watched over IMAP or POP3. The host goes through the
 * organization's address policy (resolved, checked, connected to the checked
 * address with the TLS name kept). One connection per mailbox at a time (a
 * KV lease), always closed. Every new mail is parsed, published as
 * `mail.received` and routed to its rules' deliveries BEFORE the cursor moves
 * past it — IMAP: UIDVALIDITY + last UID, POP3: the seen UIDLs — and a
 * Message-ID marker is written with the cursor, so a reconnect, a crash, a
 * UIDVALIDITY change or a second process neither repeats nor skips a mail.
 * A mailbox that cannot be read shows the server's own words and raises
 * `mail.failed` when it starts failing.
 */
import { z } from "zod";
import type { Clock } from "../../clock.ts";
import type { SecretBox } from "../../crypto/secret_box.ts";
import type { EventBus } from "../../events/mod.ts";
import type { Logger } from "../../log.ts";
import type { Queue } from "../../queue/queue.ts";
import type { AddressPolicy } from "../../http/url_guard.ts";
import { checkedTarget } from "../../http/guarded_connect.ts";
import { newId, sha256Hex } from "../../ids.ts";
import { UpstreamApiError, ValidationError } from "../../errors.ts";
import { keys } from "../store.ts";
import { POLL_KIND } from "../kinds.ts";
import type { Router } from "../router.ts";
import { parseMail } from "./parse.ts";
import {
  ATTACHMENT_CAP_DEFAULT,
  ATTACHMENT_CAP_MAX,
  formatSize,
  type MailAttachment,
  storeBlob,
} from "./attachments.ts";
import { imapSession } from "./imap.ts";
import { pop3Session } from "./pop3.ts";

export const mailboxInputSchema = z.object({
  name: z.string().trim().min(1).max(200),
  protocol: z.enum(["imap", "pop3"]),
  host: z.string().trim().min(1).max(253).regex(/^[\w.:[\]-]+$/, "must be a host name or an IP address"),
  port: z.number().int().min(1).max(65535),
  security: z.enum(["tls", "starttls", "none"]).default("tls"),
  user: z.string().min(1).max(200),
  /** Sealed at rest; omit on update to keep the stored one. */
  password: z.string().min(1).max(500).optional(),
  folder: z.string().min(1).max(200).default("INBOX"),
  pollSeconds: z.number().int().min(30).max(86_400).default(60),
  enabled: z.boolean().default(true),
  /** `new`: only mail that arrives after the mailbox is added; `all`: the mail already there too. */
  startFrom: z.enum(["new", "all"]).default("new"),
  /** Forward attachments as Telegram documents (larger than the cap: listed with a note, not sent). */
  forwardAttachments: z.boolean().default(false),
  /** The largest attachment forwarded, bytes. */
  attachmentMaxBytes: z.number().int().min(1024).max(ATTACHMENT_CAP_MAX).default(ATTACHMENT_CAP_DEFAULT),
});
export type MailboxInput = z.input<typeof mailboxInputSchema>;

export interface Mailbox extends Omit<z.infer<typeof mailboxInputSchema>, "password"> {
  id: string;
  org: string;
  /** Sealed password. */
  password: string;
  status: "new" | "ok" | "failing";
  lastError?: string;
  lastPollAt?: string;
  lastOkAt?: string;
  received: number;
  /** How many of the received mails were over the size cap (notified from their headers only). */
  oversized?: number;
  createdAt: string;
  updatedAt: string;
}

export type MailboxView = Omit<Mailbox, "password" | "org">;

export function mailboxView(m: Mailbox): MailboxView {
  const { password: _p, org: _o, ...rest } = m;
  return rest;
}

/** One raw mail of a session, with the reference the cursor commits after it is routed. */
export interface RawMail {
  /** The whole mail, or only its header block when it is `oversized`. */
  raw: Uint8Array;
  /** `imap:<uidvalidity>:<uid>` or `pop3:<uidl>`: stands in for a missing Message-ID. */
  ref: string;
  /** Bytes: as read, or as the server stated them (RFC822.SIZE, POP3 LIST) for an oversized mail. */
  size: number;
  /**
   * Over the size cap, so not downloaded: `stated` — the server said so and only the headers were
   * fetched; `read` — the server stated less, and reading stopped past the cap.
   */
  oversized?: "stated" | "read";
}

/** What a protocol session reports to the poller. */
export interface MailSession {
  /** Delivers every mail past the cursor to `onMail`, in order; `onMail` commits the cursor. */
  run(onMail: (mail: RawMail) => Promise<void>): Promise<{ fetched: number }>;
}

const SEEN_TTL = 120 * 24 * 3600_000;
const LEASE_MS = 5 * 60_000;

export interface MailboxDeps {
  kv: Deno.Kv;
  secrets: SecretBox;
  events: Pick<EventBus, "publish">;
  queue: Pick<Queue, "enqueueMany">;
  router: Pick<Router, "route">;
  log: Logger;
  clock: Clock;
  addressPolicy(org: string): Promise<AddressPolicy>;
  /** The largest mail downloaded whole, bytes (SHLYUZ_MAIL_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
}

/** The server's own words for a failure, without credentials. */
export function mailError(error: unknown): string {
  const e = error as { responseText?: string; message?: string; code?: string; address?: string; port?: number };
  if (e?.code === "ECONNREFUSED") return `connection refused${e.address ? ` (${e.address}:${e.port})` : ""}`;
  if (e?.code === "ETIMEDOUT" || e?.code === "CONNECT_TIMEOUT") return "the server did not answer in time";
  const text = e?.responseText || e?.message || String(error);
  return text.replace(/\s+/g, " ").trim().slice(0, 300);
}

/**
 * Whether a stored password may be used with `input`: only for the same
 * server, account and transport security. Otherwise an admin who never saw it
 * could point the mailbox (or "Test connection") at a host of their choosing,
 * with security `none`, and read it off the wire.
 */
export function keepsStoredPassword(
  cur: Pick<Mailbox, "protocol" | "host" | "port" | "user" | "security">,
  input: Pick<Mailbox, "protocol" | "host" | "port" | "user" | "security">,
): boolean {
  return cur.protocol === input.protocol && cur.host.toLowerCase() === input.host.toLowerCase() &&
    cur.port === input.port && cur.user === input.user && cur.security === input.security;
}

function resendPassword(prefix: string): ValidationError {
  return new ValidationError([{
    field: "password",
    message: "the server, user or security changed; send the password again (a stored one is kept only for the same " +
      "protocol, host, port, user and security)",
  }], { prefix });
}

export class MailboxService {
  readonly #d: MailboxDeps;
  readonly #owner = newId();

  constructor(deps: MailboxDeps) {
    this.#d = deps;
  }

  #iso() {
    return new Date(this.#d.clock.now()).toISOString();
  }

  async list(org: string): Promise<Mailbox[]> {
    const out: Mailbox[] = [];
    for await (const e of this.#d.kv.list<Mailbox>({ prefix: keys.mailboxes(org) })) out.push(e.value);
    return out;
  }

  async get(org: string, id: string): Promise<Mailbox | null> {
    return (await this.#d.kv.get<Mailbox>(keys.mailbox(org, id))).value;
  }

  #aad(org: string, id: string) {
    return `${org}:mailbox.${id}.password`;
  }

  async create(org: string, input: z.infer<typeof mailboxInputSchema>): Promise<Mailbox> {
    const id = newId(this.#d.clock.now());
    if (!input.password) throw new Error("Cannot create a mailbox without a password");
    const now = this.#iso();
    const m: Mailbox = {
      ...input,
      id,
      org,
      password: await this.#d.secrets.seal(input.password, this.#aad(org, id)),
      status: "new",
      received: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.#d.kv.set(keys.mailbox(org, id), m);
    return m;
  }

  async update(org: string, id: string, input: z.infer<typeof mailboxInputSchema>): Promise<Mailbox | null> {
    const cur = await this.get(org, id);
    if (!cur) return null;
    if (!input.password && !keepsStoredPassword(cur, input)) throw resendPassword("Cannot save the mailbox");
    const moved = cur.host !== input.host || cur.port !== input.port || cur.protocol !== input.protocol ||
      cur.folder !== input.folder || cur.user !== input.user;
    const next: Mailbox = {
      ...cur,
      ...input,
      password: input.password ? await this.#d.secrets.seal(input.password, this.#aad(org, id)) : cur.password,
      updatedAt: this.#iso(),
    };
    const op = this.#d.kv.atomic().set(keys.mailbox(org, id), next);
    // Another server or folder: the old cursor means nothing there (Message-ID markers still prevent repeats).
    if (moved) op.delete(keys.mailCursor(org, id));
    await op.commit();
    return next;
  }

  async remove(org: string, id: string): Promise<boolean> {
    if (!(await this.get(org, id))) return false;
    await this.#d.kv.atomic().delete(keys.mailbox(org, id)).delete(keys.mailCursor(org, id)).commit();
    for await (const e of this.#d.kv.list({ prefix: ["nmail_uidl", org, id] })) await this.#d.kv.delete(e.key);
    return true;
  }

  async #password(m: Mailbox): Promise<string> {
    return await this.#d.secrets.open(m.password, this.#aad(m.org, m.id));
  }

  /** Opens a protocol session for the mailbox at its checked address. */
  async #session(m: Mailbox, password: string): Promise<MailSession & { close(): Promise<void> }> {
    const service = m.protocol === "imap" ? "IMAP" : "POP3";
    const policy = await this.#d.addressPolicy(m.org);
    const target = await checkedTarget(m.host, m.port, {
      policy: { ...policy, refusedAs: `Refused the mailbox host ${m.host}` },
      service,
    });
    const cursorKey = keys.mailCursor(m.org, m.id);
    const cfg = {
      target,
      security: m.security,
      user: m.user,
      password,
      folder: m.folder,
      startFrom: m.startFrom,
      maxMessageBytes: this.#d.maxMessageBytes,
    };
    return m.protocol === "imap"
      ? imapSession(cfg, { kv: this.#d.kv, cursorKey })
      : pop3Session(cfg, { kv: this.#d.kv, seenPrefix: ["nmail_uidl", m.org, m.id], cursorKey });
  }

  /** "Test connection": log in and open the folder, with the server's words when it fails. */
  async test(
    org: string,
    input: z.infer<typeof mailboxInputSchema> & { id?: string },
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    let password = input.password;
    if (!password && input.id) {
      const cur = await this.get(org, input.id);
      if (cur && !keepsStoredPassword(cur, input)) throw resendPassword("Cannot test the mailbox");
      if (cur) password = await this.#password(cur);
    }
    if (!password) return { ok: false, error: "password: required" };
    const probe: Mailbox = {
      ...input,
      id: input.id ?? "test",
      org,
      password: "",
      status: "new",
      received: 0,
      createdAt: "",
      updatedAt: "",
    };
    try {
      const s = await this.#session(probe, password);
      await s.close();
      return { ok: true };
    } catch (error) {
      return { ok: false, error: mailError(error) };
    }
  }

  /** The cron: enqueues `mail.poll` for every enabled mailbox that is due. */
  async enqueueDue(orgs: string[]): Promise<number> {
    const now = this.#d.clock.now();
    const items = [];
    for (const org of orgs) {
      for (const m of await this.list(org)) {
        if (!m.enabled) continue;
        if (m.lastPollAt && Date.parse(m.lastPollAt) + m.pollSeconds * 1000 - 5000 > now) continue;
        items.push({ kind: POLL_KIND, payload: { mailboxId: m.id }, org });
      }
    }
    if (items.length) await this.#d.queue.enqueueMany(items);
    return items.length;
  }

  /**
   * Reads the mailbox once (the `mail.poll` job). Returns null when another
   * connection to this mailbox is open (the lease is held).
   */
  async poll(org: string, id: string): Promise<{ fetched: number; received: number } | null> {
    const m = await this.get(org, id);
    if (!m) return { fetched: 0, received: 0 };
    const leaseKey = ["lease", "mail", org, id];
    const lease = await this.#d.kv.atomic().check({ key: leaseKey, versionstamp: null })
      .set(leaseKey, this.#owner, { expireIn: LEASE_MS }).commit();
    if (!lease.ok) return null;
    let leaseStamp = lease.versionstamp;
    let renewedAt = this.#d.clock.now();
    // A long fetch renews the lease between mails, so a second connection never opens meanwhile;
    // a lease lost anyway (taken by another process after it expired) stops this session.
    const renew = async () => {
      if (this.#d.clock.now() - renewedAt < LEASE_MS / 3) return;
      const res = await this.#d.kv.atomic().check({ key: leaseKey, versionstamp: leaseStamp })
        .set(leaseKey, this.#owner, { expireIn: LEASE_MS }).commit();
      if (!res.ok) throw new Error("Cannot go on reading the mailbox: another connection took it over");
      leaseStamp = res.versionstamp;
      renewedAt = this.#d.clock.now();
    };
    let received = 0;
    let oversized = 0;
    try {
      const session = await this.#session(m, await this.#password(m));
      let fetched = 0;
      try {
        ({ fetched } = await session.run(async (mail) => {
          await renew();
          if (!(await this.#ingest(m, mail))) return;
          received++;
          if (mail.oversized) oversized++;
        }));
      } finally {
        await session.close();
      }
      await this.#patch(org, id, (cur) => ({
        status: "ok",
        lastError: undefined,
        lastPollAt: this.#iso(),
        lastOkAt: this.#iso(),
        received: cur.received + received,
        ...(oversized ? { oversized: (cur.oversized ?? 0) + oversized } : {}),
      }));
      return { fetched, received };
    } catch (error) {
      const reason = mailError(error);
      const before = await this.#patch(org, id, (cur) => ({
        status: "failing",
        lastError: reason,
        lastPollAt: this.#iso(),
        received: cur.received + received,
        ...(oversized ? { oversized: (cur.oversized ?? 0) + oversized } : {}),
      }));
      if (before && before.status !== "failing") {
        this.#d.log.warn("mailbox failing", { org, mailbox: m.name, reason });
        await this.#d.events.publish(org, "mail.failed", { mailboxId: id, mailbox: m.name, reason });
      }
      // A refused address will not change by retrying; everything else is retried at the next poll.
      if (error instanceof UpstreamApiError) return { fetched: 0, received };
      return { fetched: 0, received };
    } finally {
      // Only our own lease (see renew): another process's must stay.
      await this.#d.kv.atomic().check({ key: leaseKey, versionstamp: leaseStamp }).delete(leaseKey).commit();
    }
  }

  /** Returns the record as it was before the change. */
  async #patch(org: string, id: string, change: (m: Mailbox) => Partial<Mailbox>): Promise<Mailbox | null> {
    for (let i = 0; i < 10; i++) {
      const e = await this.#d.kv.get<Mailbox>(keys.mailbox(org, id));
      if (!e.value) return null;
      const next = { ...e.value, ...change(e.value), updatedAt: this.#iso() };
      if ((await this.#d.kv.atomic().check(e).set(e.key, next).commit()).ok) return e.value;
    }
    return null;
  }

  /** The mail's attachments as the event lists them; those to forward are kept as blobs first. */
  async #attachments(
    m: Mailbox,
    list: Array<{ filename: string; mimeType: string; size: number; content: Uint8Array }>,
  ): Promise<MailAttachment[]> {
    const cap = m.attachmentMaxBytes ?? ATTACHMENT_CAP_DEFAULT;
    const out: MailAttachment[] = [];
    for (const { content, ...a } of list) {
      if (!m.forwardAttachments) out.push(a);
      else if (a.size > cap) out.push({ ...a, skipped: `больше ${formatSize(cap)}` });
      else out.push({ ...a, blobId: await storeBlob(this.#d.kv, m.org, content) });
    }
    return out;
  }

  /**
   * One mail: parsed, deduplicated by Message-ID, published and routed (its
   * deliveries queued) — then its marker is written. Returns false for a repeat.
   */
  async #ingest(m: Mailbox, mail: RawMail): Promise<boolean> {
    const parsed = await parseMail(mail.raw);
    const dedupeKey = `mail:${m.id}:${(await sha256Hex(parsed.messageId || mail.ref)).slice(0, 32)}`;
    const seenKey = ["dedupe", "mail.seen", m.org, dedupeKey];
    if ((await this.#d.kv.get(seenKey)).versionstamp) return false;
    const event = await this.#d.events.publish(m.org, "mail.received", {
      mailboxId: m.id,
      mailbox: m.name,
      dedupeKey,
      messageId: parsed.messageId,
      from: parsed.from,
      to: parsed.to,
      subject: parsed.subject,
      // Not downloaded: the body is a note saying why, and there are no attachments to list.
      text: mail.oversized ? oversizedNote(mail, this.#d.maxMessageBytes) : parsed.text,
      attachments: mail.oversized ? [] : await this.#attachments(m, parsed.attachments),
      size: mail.size,
      oversized: Boolean(mail.oversized),
    });
    // The catalogue refuses an event that does not fit its schema (a bug, logged by the bus): the mail is
    // still marked, or it would be re-read forever.
    if (event) await this.#d.router.route(event);
    await this.#d.kv.set(seenKey, event?.id ?? "rejected", { expireIn: SEEN_TTL });
    return true;
  }
}

/** The text of an oversized mail's event (and so of its Telegram message). */
export function oversizedNote(mail: Pick<RawMail, "size" | "oversized">, cap: number): string {
  const open = "откройте его в почтовом клиенте";
  return mail.oversized === "read"
    ? `⚠️ Письмо больше предела ${formatSize(cap)} (сервер указал ${formatSize(mail.size)}) — ${open}.`
    : `⚠️ Письмо ${formatSize(mail.size)} больше предела ${formatSize(cap)} — ${open}.`;
}
