/**
 * A POP3 session (node-pop3) on the checked address: UIDL lists the
 * maildrop and LIST its sizes; each id not seen before is fetched with
 * `command("RETR", n)` as raw bytes (node-pop3's RETR() decodes as UTF-8 and
 * corrupts 8-bit windows-1251 mail), dot-unstuffed, handled, then marked
 * seen. A mail over the size cap is read with `TOP n 0` (headers only); one
 * whose RETR runs past the cap although LIST said less is cut off there — the
 * connection is dropped, since the rest of the answer is still on its way —
 * handled as oversized, and the session ends (the next poll goes on). Ids
 * that left the maildrop are pruned. Mail is never deleted from the server.
 */
import type { MailSession, RawMail } from "./mailboxes.ts";
import type { SessionConfig } from "./imap.ts";
import { headerBlock } from "./parse.ts";

const SEEN_TTL = 365 * 24 * 3600_000;

/**
 * A multi-line answer's bytes, dot-unstuffed as they arrive (RFC 1939 §3: a line starting with "."
 * was sent with one more "." in front), until the answer ends or more than
 * `limit` bytes came (`overflow`: the bytes so far, the rest unread).
 */
export async function readBounded(
  stream: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<{ bytes: Uint8Array; overflow: boolean }> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  let lineStart = true;
  // A "." at a line start whose next byte is in the next chunk: kept back until that byte says what it is.
  let dotPending = false;
  let overflow = false;
  for await (const c of stream) {
    const out = new Uint8Array(c.length + 1);
    let j = 0;
    for (let i = 0; i < c.length; i++) {
      const b = c[i];
      if (dotPending) {
        dotPending = false;
        out[j++] = 0x2e;
        if (b === 0x2e) continue; // ".." at a line start: the first dot was the stuffing
      } else if (lineStart && b === 0x2e) {
        dotPending = true;
        lineStart = false;
        continue;
      }
      out[j++] = b;
      lineStart = b === 0x0a;
    }
    chunks.push(out.subarray(0, j));
    n += j;
    if (n > limit) {
      overflow = true;
      break;
    }
  }
  if (dotPending && !overflow) {
    chunks.push(new Uint8Array([0x2e]));
    n++;
  }
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  return { bytes, overflow };
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
  // deno-lint-ignore no-explicit-any
  const connection = pop as any;
  /** Set when an answer was cut off: the socket is gone and QUIT would wait for a reply forever. */
  let dropped = false;
  const drop = () => {
    dropped = true;
    connection._stream?.destroy?.();
    connection._stream = null;
    connection._socket?.destroy?.();
    connection._socket = null;
  };
  const close = async () => {
    if (dropped) return;
    try {
      await pop.QUIT();
    } catch {
      connection._socket?.destroy?.();
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
      const cap = cfg.maxMessageBytes;
      const sizes = new Map(((await pop.LIST()) as string[][]).map(([num, octets]) => [num, Number(octets)]));
      let fetched = 0;
      const listed = new Set<string>(listing.map(([, uidl]) => uidl));
      for (const [num, uidl] of listing) {
        if (seen.has(uidl)) continue;
        const stated = sizes.get(num) ?? 0;
        const ref = `pop3:${uidl}`;
        let mail: RawMail;
        if (stated > cap) {
          const [, stream] = await pop.command("TOP", num, 0);
          // A header block over the cap is cut off like a body would be.
          const head = await readBounded(stream as AsyncIterable<Uint8Array>, cap);
          if (head.overflow) drop();
          mail = { raw: headerBlock(head.bytes), ref, size: stated, oversized: "stated" };
        } else {
          const [, stream] = await pop.command("RETR", num);
          const read = await readBounded(stream as AsyncIterable<Uint8Array>, cap);
          if (read.overflow) drop();
          mail = read.overflow
            ? { raw: headerBlock(read.bytes), ref, size: stated, oversized: "read" }
            : { raw: read.bytes, ref, size: read.bytes.length };
        }
        await onMail(mail);
        await kv.set([...seenPrefix, uidl], true, { expireIn: SEEN_TTL });
        fetched++;
        if (dropped) break;
      }
      for (const id of seen) if (!listed.has(id)) await kv.delete([...seenPrefix, id]);
      return { fetched };
    },
  };
}
