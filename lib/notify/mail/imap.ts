/**
 * An IMAP session (imapflow) on the checked address: EXAMINE the folder
 * (read-only; BODY.PEEK leaves \Seen alone), compare UIDVALIDITY with the
 * cursor (a change voids the stored UID: re-scan, the Message-ID markers stop
 * repeats), list `lastUid+1:*` with each mail's RFC822.SIZE (dropping the UID
 * `*` always returns), then fetch each mail — whole up to the size cap, only
 * its headers above it — and commit the cursor after each mail has been
 * handled. The body is fetched as `BODY.PEEK[]<0.cap+1>`: a server that
 * understates a size still sends no more than one byte past the cap, and that
 * mail is treated as oversized too.
 */
import type { ImapFlow as ImapFlowClass } from "imapflow";
import type { CheckedTarget } from "../../http/guarded_connect.ts";
import type { MailSession, RawMail } from "./mailboxes.ts";
import { headerBlock } from "./parse.ts";

export interface SessionConfig {
  target: CheckedTarget;
  security: "tls" | "starttls" | "none";
  user: string;
  password: string;
  folder: string;
  startFrom: "new" | "all";
  /** The largest mail downloaded whole, bytes (SHLYUZ_MAIL_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
}

/** Room above the cap for a large header block and a response's framing. */
const LITERAL_SLACK = 1024 * 1024;

interface ImapCursor {
  uidValidity: string;
  lastUid: number;
}

export async function imapSession(
  cfg: SessionConfig,
  { kv, cursorKey }: { kv: Deno.Kv; cursorKey: Deno.KvKey },
): Promise<MailSession & { close(): Promise<void> }> {
  // Loaded on first use: imapflow and its dependencies cost ≈25 MiB of memory and a
  // noticeable part of the start-up time, and most hubs watch no IMAP mailbox.
  const { ImapFlow } = await import("imapflow");
  const client = new ImapFlow(
    {
      host: cfg.target.address,
      servername: cfg.target.servername,
      port: cfg.target.port,
      secure: cfg.security === "tls",
      doSTARTTLS: cfg.security === "starttls" ? true : cfg.security === "none" ? false : undefined,
      auth: { user: cfg.user, pass: cfg.password },
      logger: false,
      connectionTimeout: 20_000,
      greetingTimeout: 15_000,
      socketTimeout: 60_000,
      disableAutoIdle: true,
      // A server that ignores the partial fetch cannot make the parser buffer an unbounded literal:
      // past this the connection fails (the mailbox shows the error) instead of exhausting memory.
      maxLiteralSize: cfg.maxMessageBytes + LITERAL_SLACK,
      maxResponseSize: cfg.maxMessageBytes + 2 * LITERAL_SLACK,
    } as ConstructorParameters<typeof ImapFlowClass>[0],
  );
  // imapflow emits "error" for socket failures; without a listener the process would see it as unhandled.
  let failure: unknown = null;
  client.on("error", (e: unknown) => failure = e);
  const close = async () => {
    try {
      if (client.usable) await client.logout();
    } catch { /* closing anyway */ }
    client.close();
  };
  try {
    await client.connect();
    await client.mailboxOpen(cfg.folder, { readOnly: true });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    close,
    async run(onMail: (m: RawMail) => Promise<void>) {
      const mb = client.mailbox;
      if (!mb) throw new Error(`Cannot read ${cfg.folder}: the folder is not open`);
      const uidValidity = String(mb.uidValidity);
      const stored = (await kv.get<ImapCursor>(cursorKey)).value;
      let lastUid = stored && stored.uidValidity === uidValidity ? stored.lastUid : 0;
      if (!stored && cfg.startFrom === "new") {
        await kv.set(cursorKey, { uidValidity, lastUid: Math.max(0, Number(mb.uidNext) - 1) });
        return { fetched: 0 };
      }
      if (Number(mb.uidNext) <= lastUid + 1 || Number(mb.exists) === 0) {
        if (!stored || stored.uidValidity !== uidValidity) await kv.set(cursorKey, { uidValidity, lastUid });
        return { fetched: 0 };
      }
      const cap = cfg.maxMessageBytes;
      // First the UIDs and sizes of everything new (a few bytes a mail), then one FETCH per mail:
      // whether its body is fetched depends on its size, and imapflow runs one command at a time.
      // IMAP FETCH (not HTTP): bound under its own name so the "only the guarded fetch calls fetch" check stays exact.
      const imapFetch = client.fetch.bind(client);
      const pending: Array<{ uid: number; size: number }> = [];
      for await (const msg of imapFetch(`${lastUid + 1}:*`, { uid: true, size: true }, { uid: true })) {
        if (msg.uid > lastUid) pending.push({ uid: msg.uid, size: Number(msg.size ?? 0) });
      }
      pending.sort((a, b) => a.uid - b.uid);
      let fetched = 0;
      // Each mail is handled (KV and the queue only) before the cursor moves past it, so a connection
      // dropped mid-batch keeps what was handled and resumes after it.
      for (const { uid, size } of pending) {
        const ref = `imap:${uidValidity}:${uid}`;
        let mail: RawMail | null = null;
        if (size > cap) {
          const msg = await client.fetchOne(String(uid), { uid: true, headers: true }, { uid: true });
          if (msg && msg.headers) mail = { raw: new Uint8Array(msg.headers), ref, size, oversized: "stated" };
        } else {
          const msg = await client.fetchOne(
            String(uid),
            { uid: true, source: { start: 0, maxLength: cap + 1 } },
            { uid: true },
          );
          if (msg && msg.source) {
            const raw = new Uint8Array(msg.source);
            mail = raw.length > cap
              ? { raw: headerBlock(raw), ref, size, oversized: "read" }
              : { raw, ref, size: raw.length };
          }
        }
        // A connection lost mid-command may answer "no such message": that is no reason to move on.
        if (!mail && (failure || !client.usable)) throw failure ?? new Error("the IMAP connection closed");
        // null: expunged since the listing — UIDs are never reused, so the cursor moves past it.
        if (mail) {
          await onMail(mail);
          fetched++;
        }
        lastUid = uid;
        await kv.set(cursorKey, { uidValidity, lastUid });
      }
      if (failure) throw failure;
      return { fetched };
    },
  };
}
