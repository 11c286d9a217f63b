/**
 * A real Dovecot for one test file: the shared template in a temp folder on
 * free ports (IMAP and POP3 on 127.0.0.1, plaintext, no TLS), one user
 * testuser/testpass, mail delivered with dovecot-lda. Skips (or fails with
 * SHLYUZ_REQUIRE_SERVICES=1) where Dovecot is not installed.
 */
import { serviceOrSkip } from "../helpers/services.ts";

export const MAIL_USER = "testuser";
export const MAIL_PASSWORD = "testpass";
const TEMPLATE = "/work/shared/testing/dovecot.conf.template";
const LDA = "/usr/lib/dovecot/dovecot-lda";

export interface Dovecot {
  root: string;
  imapPort: number;
  popPort: number;
  /** Delivers one raw message to testuser's INBOX. */
  deliver(raw: string | Uint8Array): Promise<void>;
  /** Gives INBOX a new UIDVALIDITY (as a restored or re-created mailbox would have). */
  changeUidValidity(value: number): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function run(cmd: string, args: string[], stdin?: Uint8Array, { daemon = false } = {}): Promise<void> {
  // A daemon keeps inherited pipes open forever: it gets none.
  const p = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "null",
    stderr: daemon ? "null" : "piped",
  })
    .spawn();
  if (stdin) {
    const w = p.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await p.output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${daemon ? "" : new TextDecoder().decode(out.stderr)}`);
  }
}

/** Starts Dovecot, or returns null when it is absent and not required. */
export async function startDovecot(): Promise<Dovecot | null> {
  const present = await serviceOrSkip("Dovecot", async () => {
    await Deno.stat("/usr/sbin/dovecot");
    await Deno.stat(LDA);
    await Deno.stat(TEMPLATE);
  });
  if (!present) return null;
  const root = await Deno.makeTempDir({ prefix: "shlyuz-dovecot-" });
  await Deno.chmod(root, 0o755); // the auth process runs as the dovecot user
  for (const d of ["mail", "run", "state"]) await Deno.mkdir(`${root}/${d}`);
  const imapPort = freePort();
  const popPort = freePort();
  const conf = (await Deno.readTextFile(TEMPLATE)).replaceAll("$ROOT", root).replace(
    "port = 10143",
    `port = ${imapPort}`,
  )
    .replace("port = 10110", `port = ${popPort}`);
  await Deno.writeTextFile(`${root}/dovecot.conf`, conf);
  await Deno.writeTextFile(`${root}/users`, `${MAIL_USER}:{PLAIN}${MAIL_PASSWORD}\n`);
  await run("chown", ["-R", "nobody:nogroup", `${root}/mail`]);
  await run("/usr/sbin/dovecot", ["-c", `${root}/dovecot.conf`], undefined, { daemon: true });
  for (let i = 0; i < 100; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: imapPort });
      c.close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const conf2 = `${root}/dovecot.conf`;
  return {
    root,
    imapPort,
    popPort,
    async deliver(raw) {
      const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
      await run(LDA, ["-c", conf2, "-d", MAIL_USER, "-f", "sender@example.ru"], bytes);
    },
    async changeUidValidity(value) {
      await run("doveadm", [
        "-c",
        conf2,
        "mailbox",
        "update",
        "-u",
        MAIL_USER,
        "--uid-validity",
        String(value),
        "INBOX",
      ]);
    },
    async stop() {
      await run("doveadm", ["-c", conf2, "stop"]).catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

/** A mail as bytes: headers and body in `charset` (8-bit body, RFC 2047 subject). */
export function mail(
  { subject, body, from = "Бухгалтерия <buh@example.ru>", messageId, charset = "utf-8", html = false }: {
    subject: string;
    body: string;
    from?: string;
    messageId?: string;
    charset?: "utf-8" | "windows-1251" | "koi8-r";
    html?: boolean;
  },
): Uint8Array {
  const enc = encoder(charset);
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  const subj = `=?${charset}?B?${b64(enc(subject))}?=`;
  const [name, addr] = /^(.*) <(.*)>$/.exec(from)?.slice(1) ?? ["", from];
  const fromHeader = name ? `=?${charset}?B?${b64(enc(name))}?= <${addr}>` : addr;
  const head = [
    `From: ${fromHeader}`,
    "To: testuser@example.ru",
    `Subject: ${subj}`,
    ...(messageId ? [`Message-ID: <${messageId}>`] : []),
    "MIME-Version: 1.0",
    `Content-Type: text/${html ? "html" : "plain"}; charset=${charset}`,
    "Content-Transfer-Encoding: 8bit",
    "",
    "",
  ].join("\r\n");
  const h = new TextEncoder().encode(head);
  const b = enc(body.replaceAll("\n", "\r\n") + "\r\n");
  const out = new Uint8Array(h.length + b.length);
  out.set(h);
  out.set(b, h.length);
  return out;
}

const CP1251 = "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмнопрстуфхцчшщъыьэюя";
const KOI8 = "юабцдефгхийклмнопярстужвьызшэщчъЮАБЦДЕФГХИЙКЛМНОПЯРСТУЖВЬЫЗШЭЩЧЪ";

function encoder(charset: string): (s: string) => Uint8Array {
  if (charset === "utf-8") return (s) => new TextEncoder().encode(s);
  return (s) => {
    const out: number[] = [];
    for (const ch of s) {
      const code = ch.codePointAt(0)!;
      if (code < 0x80) out.push(code);
      else if (charset === "windows-1251") {
        if (ch === "ё") out.push(0xb8);
        else if (ch === "Ё") out.push(0xa8);
        else if (ch === "№") out.push(0xb9);
        else out.push(0xc0 + CP1251.indexOf(ch));
      } else {
        if (ch === "ё") out.push(0xa3);
        else if (ch === "Ё") out.push(0xb3);
        else out.push(0xc0 + KOI8.indexOf(ch));
      }
    }
    return new Uint8Array(out);
  };
}
