/**
 * A small POP3 server (RFC 1939) for tests and the demo, so a mailbox can be
 * watched without installing anything: USER/PASS, STAT, LIST, UIDL, RETR and
 * TOP (multi-line answers dot-stuffed and ended by a lone "."), DELE, RSET,
 * NOOP, CAPA and QUIT (deletions applied only then), on 127.0.0.1 without TLS.
 * Wrong credentials answer `-ERR [AUTH] Authentication failed.` as Dovecot
 * does; a command in the wrong state or unknown is an `-ERR`. Each mail gets
 * a UIDL that stays the same across sessions. `deliver()` drops a raw RFC 5322
 * mail into a user's maildrop (optionally with a wrong size in LIST, as a
 * lying server would state it); `mail()` builds one (UTF-8, or windows-1251 /
 * KOI8-R bytes with an RFC 2047 subject, optional attachments).
 *
 * Real Dovecot (tests/notify/_dovecot.ts) stays the reference the mailbox
 * tests run against; this fake covers the same commands node-pop3 uses.
 */

export interface Pop3FakeOptions {
  port?: number;
  /** user → password. Default `{ demo: "demo-password" }`. */
  users?: Record<string, string>;
}

interface StoredMail {
  uidl: string;
  bytes: Uint8Array;
  /** What LIST and STAT say its size is (a lying server, for the size-cap tests); default its real size. */
  listedSize?: number;
}

export interface Pop3Fake {
  host: string;
  port: number;
  /**
   * Puts a raw mail into the user's maildrop; returns its UIDL. `listedSize`: the size LIST states
   * for it instead of the real one (a server that lies about sizes).
   */
  deliver(user: string, raw: string | Uint8Array, opts?: { listedSize?: number }): string;
  /** How many mails the user's maildrop holds. */
  count(user: string): number;
  /** Sessions opened so far, and commands received (PASS arguments hidden). */
  state: { sessions: number; commands: string[] };
  close(): Promise<void>;
}

const enc = new TextEncoder();

/** RFC 1939 §3: a line starting with "." gets one more; the answer ends with CRLF "." CRLF. */
function dotStuff(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const lineStart = i === 0 || bytes[i - 1] === 0x0a;
    if (lineStart && bytes[i] === 0x2e) out.push(0x2e);
    out.push(bytes[i]);
  }
  if (out.length < 2 || out[out.length - 2] !== 0x0d || out[out.length - 1] !== 0x0a) out.push(0x0d, 0x0a);
  out.push(0x2e, 0x0d, 0x0a);
  return new Uint8Array(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The first `lines` body lines of a mail, with all its headers (TOP). */
function top(bytes: Uint8Array, lines: number): Uint8Array {
  const text = new TextDecoder("latin1").decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return bytes;
  const body = text.slice(split + 4).split("\r\n").slice(0, lines);
  const kept = text.slice(0, split + 4) + body.join("\r\n");
  return Uint8Array.from(kept, (c) => c.charCodeAt(0));
}

/** Starts the fake on 127.0.0.1 (a random port unless given). */
export function startPop3Fake({ port = 0, users = { demo: "demo-password" } }: Pop3FakeOptions = {}): Pop3Fake {
  const drops = new Map<string, StoredMail[]>();
  let nextUid = 1;
  const state = { sessions: 0, commands: [] as string[] };
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const open = new Set<Deno.Conn>();
  const sessions = new Set<Promise<void>>();

  async function session(conn: Deno.Conn) {
    state.sessions++;
    let user: string | null = null;
    let authed = false;
    let mails: StoredMail[] = [];
    const deleted = new Set<number>();
    const write = async (b: Uint8Array) => {
      let o = 0;
      while (o < b.length) o += await conn.write(b.subarray(o));
    };
    const line = (s: string) => write(enc.encode(`${s}\r\n`));
    const multi = (status: string, body: Uint8Array) => write(concat(enc.encode(`${status}\r\n`), dotStuff(body)));
    const mailAt = (arg: string | undefined): [number, StoredMail] | null => {
      const n = Number(arg);
      if (!Number.isInteger(n) || n < 1 || n > mails.length || deleted.has(n)) return null;
      return [n, mails[n - 1]];
    };
    await line("+OK Shlyuz POP3 fake ready.");
    let buffer = "";
    const reader = conn.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += new TextDecoder().decode(value);
        let nl: number;
        while ((nl = buffer.indexOf("\r\n")) >= 0) {
          const raw = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 2);
          const [word, ...args] = raw.split(" ");
          const cmd = word.toUpperCase();
          state.commands.push(cmd === "PASS" ? "PASS ***" : raw);
          if (cmd === "QUIT") {
            if (authed) {
              const kept = drops.get(user!)!.filter((m) => !mails.some((x, i) => x === m && deleted.has(i + 1)));
              drops.set(user!, kept);
            }
            await line("+OK Logging out.");
            return;
          }
          if (cmd === "CAPA") {
            await multi("+OK", enc.encode("USER\r\nUIDL\r\nTOP\r\n"));
            continue;
          }
          if (cmd === "NOOP") {
            await line("+OK");
            continue;
          }
          if (!authed) {
            if (cmd === "USER" && args[0]) {
              user = args.join(" ");
              await line("+OK");
            } else if (cmd === "PASS" && user !== null) {
              if (users[user] !== undefined && users[user] === args.join(" ")) {
                authed = true;
                mails = [...(drops.get(user) ?? [])];
                drops.set(user, drops.get(user) ?? []);
                await line("+OK Logged in.");
              } else {
                user = null;
                await line("-ERR [AUTH] Authentication failed.");
              }
            } else await line("-ERR Unknown command in AUTHORIZATION state.");
            continue;
          }
          const live = mails.map((m, i) => [i + 1, m] as const).filter(([n]) => !deleted.has(n));
          switch (cmd) {
            case "STAT":
              await line(`+OK ${live.length} ${live.reduce((s, [, m]) => s + (m.listedSize ?? m.bytes.length), 0)}`);
              break;
            case "LIST":
            case "UIDL": {
              const show = (n: number, m: StoredMail) =>
                `${n} ${cmd === "LIST" ? (m.listedSize ?? m.bytes.length) : m.uidl}`;
              if (args[0]) {
                const hit = mailAt(args[0]);
                await line(hit ? `+OK ${show(...hit)}` : "-ERR There's no message " + args[0] + ".");
              } else {
                await multi("+OK", enc.encode(live.map(([n, m]) => show(n, m) + "\r\n").join("")));
              }
              break;
            }
            case "RETR":
            case "TOP": {
              const hit = mailAt(args[0]);
              if (!hit) {
                await line(`-ERR There's no message ${args[0] ?? ""}.`);
                break;
              }
              const bytes = cmd === "TOP" ? top(hit[1].bytes, Number(args[1] ?? 0)) : hit[1].bytes;
              await multi(`+OK ${hit[1].bytes.length} octets`, bytes);
              break;
            }
            case "DELE": {
              const hit = mailAt(args[0]);
              if (hit) deleted.add(hit[0]);
              await line(hit ? "+OK Marked to be deleted." : `-ERR There's no message ${args[0] ?? ""}.`);
              break;
            }
            case "RSET":
              deleted.clear();
              await line("+OK");
              break;
            default:
              await line("-ERR Unknown command.");
          }
        }
      }
    } catch {
      // The client went away mid-session: nothing to clean up but the socket.
    } finally {
      reader.releaseLock();
      open.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      const s = session(conn).finally(() => sessions.delete(s));
      sessions.add(s);
    }
  })().catch(() => {});

  return {
    host: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    state,
    deliver(user, raw, { listedSize } = {}) {
      const bytes = typeof raw === "string" ? enc.encode(raw.replace(/\r?\n/g, "\r\n")) : raw;
      const uidl = `${(nextUid++).toString(16).padStart(8, "0")}${crypto.randomUUID().slice(0, 8)}`;
      const list = drops.get(user) ?? [];
      list.push({ uidl, bytes, ...(listedSize !== undefined ? { listedSize } : {}) });
      drops.set(user, list);
      return uidl;
    },
    count(user) {
      return drops.get(user)?.length ?? 0;
    },
    async close() {
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await Promise.all([...sessions]);
      await accepting;
    },
  };
}

/** Options of `mail()`: a subject and body, their charset, attachments. */
export interface FakeMail {
  from?: string;
  to?: string;
  subject: string;
  text: string;
  charset?: "utf-8" | "windows-1251" | "koi8-r";
  messageId?: string;
  attachments?: Array<{ filename: string; mimeType?: string; content: Uint8Array }>;
}

/** Encodes `text` in a Cyrillic single-byte charset (the few letters the tests and demo use). */
function encodeCharset(text: string, charset: "windows-1251" | "koi8-r"): Uint8Array {
  // TextDecoder knows both charsets; build the reverse table once per call from it.
  const dec = new TextDecoder(charset);
  const table = new Map<string, number>();
  for (let b = 0; b < 256; b++) table.set(dec.decode(new Uint8Array([b])), b);
  return Uint8Array.from([...text], (ch) => table.get(ch) ?? 0x3f);
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/.{1,76}/g, "$&\r\n").trimEnd();
}

/** `Name <addr>` with the name as one RFC 2047 UTF-8 word. */
function encodedAddress(from: string): string {
  const [, name, addr] = /^(.*) <(.*)>$/.exec(from) ?? [];
  if (!name) return from;
  return `=?utf-8?B?${btoa(String.fromCharCode(...enc.encode(name)))}?= <${addr}>`;
}

/** A raw RFC 5322 mail: RFC 2047 subject, 8-bit body in its charset, base64 attachments. */
export function mail(m: FakeMail): Uint8Array {
  const charset = m.charset ?? "utf-8";
  const bytesOf = (s: string) => charset === "utf-8" ? enc.encode(s) : encodeCharset(s, charset);
  const subject = `=?${charset}?B?${base64(bytesOf(m.subject)).replace(/\r\n/g, "")}?=`;
  const head = [
    `From: ${encodedAddress(m.from ?? "Бухгалтерия <buh@example.ru>")}`,
    `To: ${m.to ?? "duty@example.ru"}`,
    `Subject: ${subject}`,
    `Message-ID: ${m.messageId ?? `<${crypto.randomUUID()}@example.ru>`}`,
    `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
    "MIME-Version: 1.0",
  ];
  const textPart = (headers: string[]) =>
    concat(
      enc.encode(
        [...headers, `Content-Type: text/plain; charset=${charset}`, "Content-Transfer-Encoding: 8bit", "", ""].join(
          "\r\n",
        ),
      ),
      bytesOf(m.text.replace(/\r?\n/g, "\r\n")),
      enc.encode("\r\n"),
    );
  if (!m.attachments?.length) return concat(enc.encode(head.join("\r\n") + "\r\n"), textPart([]));
  const boundary = `----=_shlyuz_${crypto.randomUUID().slice(0, 8)}`;
  const parts: Uint8Array[] = [
    enc.encode(
      [...head, `Content-Type: multipart/mixed; boundary="${boundary}"`, "", `--${boundary}`, ""].join("\r\n"),
    ),
    textPart([]),
  ];
  for (const a of m.attachments) {
    const name = `=?utf-8?B?${btoa(String.fromCharCode(...enc.encode(a.filename)))}?=`;
    parts.push(enc.encode(
      [
        `--${boundary}`,
        `Content-Type: ${a.mimeType ?? "application/octet-stream"}; name="${name}"`,
        `Content-Disposition: attachment; filename="${name}"`,
        "Content-Transfer-Encoding: base64",
        "",
        base64(a.content),
        "",
      ].join("\r\n"),
    ));
  }
  parts.push(enc.encode(`--${boundary}--\r\n`));
  return concat(...parts);
}
