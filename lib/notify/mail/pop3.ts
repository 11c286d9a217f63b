/**
 * A POP3 session (node-pop3) on the checked address: UIDL lists the
 * maildrop; each id not seen before is fetched with `command("RETR", n)` as
 * raw bytes (node-pop3's RETR() decodes as UTF-8 and corrupts 8-bit
 * windows-1251 mail), dot-unstuffed, handled, then marked seen. Ids that left
 * the maildrop are pruned. Mail is never deleted from the server.
 */
import type { MailSession, RawMail } from "./mailboxes.ts";
import type { SessionConfig } from "./imap.ts";

const SEEN_TTL = 365 * 24 * 3600_000;

/** RFC 1939 §3: a line starting with "." was sent with one more "." in front. */
export function unstuff(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(raw.length);
  let j = 0;
  for (let i = 0; i < raw.length; i++) {
    const lineStart = i === 0 || (raw[i - 1] === 0x0a);
    if (lineStart && raw[i] === 0x2e && raw[i + 1] === 0x2e) continue;
    out[j++] = raw[i];
  }
  return out.subarray(0, j);
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of stream) {
    chunks.push(c);
    n += c.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export async function pop3Session(
  cfg: SessionConfig,
  { kv, seenPrefix, cursorKey }: { kv: Deno.Kv; seenPrefix: Deno.KvKey; cursorKey: Deno.KvKey },
): Promise<MailSession & { close(): Promise<void> }> {
  if (cfg.security === "starttls") throw new Error("POP3 with STARTTLS is not supported: use TLS (port 995) or none");
  // Loaded on first use, like imapflow: most hubs watch no POP3 mailbox.
  const { default: Pop3Command } = await import("node-pop3");
  const pop = new Pop3Command({
    host: cfg.target.address,
    servername: cfg.target.servername,
    port: cfg.target.port,
    tls: cfg.security === "tls",
    user: cfg.user,
    password: cfg.password,
    timeout: 60_000,
  });
  const close = async () => {
    try {
      await pop.QUIT();
    } catch {
      // deno-lint-ignore no-explicit-any
      (pop as any)._socket?.destroy?.();
    }
  };
  try {
    await pop.STAT(); // connects and logs in: the server's -ERR is the message
  } catch (error) {
    await close();
    throw error;
  }
  return {
    close,
    async run(onMail: (m: RawMail) => Promise<void>) {
      const listing = (await pop.UIDL()) as string[][];
      const seen = new Set<string>();
      for await (const e of kv.list({ prefix: seenPrefix })) seen.add(String(e.key[e.key.length - 1]));
      const initialized = (await kv.get(cursorKey)).versionstamp !== null;
      if (!initialized) {
        if (cfg.startFrom === "new") {
          for (const [, uidl] of listing) await kv.set([...seenPrefix, uidl], true, { expireIn: SEEN_TTL });
        }
        await kv.set(cursorKey, { initializedAt: Date.now() });
        if (cfg.startFrom === "new") return { fetched: 0 };
      }
      let fetched = 0;
      const listed = new Set<string>();
      for (const [num, uidl] of listing) {
        listed.add(uidl);
        if (seen.has(uidl)) continue;
        const [, stream] = await pop.command("RETR", num);
        const raw = unstuff(await readAll(stream as AsyncIterable<Uint8Array>));
        await onMail({ raw, ref: `pop3:${uidl}` });
        await kv.set([...seenPrefix, uidl], true, { expireIn: SEEN_TTL });
        fetched++;
      }
      for (const id of seen) if (!listed.has(id)) await kv.delete([...seenPrefix, id]);
      return { fetched };
    },
  };
}
