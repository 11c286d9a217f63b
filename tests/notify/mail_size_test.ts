/**
 * The size cap of incoming mail (SHLYUZ_MAIL_MAX_MESSAGE_BYTES, 64 KiB here)
 * against a real Dovecot over IMAP and POP3: a 200 KiB mail with an
 * attachment is not downloaded (a proxy counts the bytes the server sent),
 * yet it becomes one `mail.received` event from its headers, marked
 * oversized, with a note instead of the text and no attachment; a mail under
 * the cap is unchanged; the mailbox goes on polling and never re-reads the
 * big one. A server that states a smaller size than it sends (IMAP through a
 * proxy rewriting RFC822.SIZE, the POP3 fake with a wrong LIST) is cut off
 * past the cap and the mail handled as oversized too.
 */
import assert from "node:assert/strict";
import { type Dovecot, MAIL_PASSWORD, MAIL_USER, startDovecot } from "./_dovecot.ts";
import { addMailbox as addMailboxFor, type MailWorld, until, withMailWorld } from "./_setup.ts";
import { mail, startPop3Fake } from "../fakes/mail_server.ts";
import { formatSize } from "../../lib/notify/mail/attachments.ts";
import { readBounded } from "../../lib/notify/mail/pop3.ts";
import type { HubEvent } from "../../lib/events/mod.ts";

const CAP = 64 * 1024;
const EMAIL = "owner@example.com";
const PASSWORD = "correct horse battery";
const TEMPLATE = "📧 <b>{{subject}}</b>\n{{text}}";

type World = MailWorld;

function hubWorld(fn: (w: World) => Promise<void>) {
  const env = {
    SHLYUZ_MAIL_MAX_MESSAGE_BYTES: String(CAP),
    SHLYUZ_ADMIN_EMAIL: EMAIL,
    SHLYUZ_ADMIN_PASSWORD: PASSWORD,
  };
  return withMailWorld({ env, template: TEMPLATE }, fn);
}

async function dovecotWorld(fn: (w: World & { dc: Dovecot }) => Promise<void>) {
  const dc = await startDovecot();
  if (!dc) return;
  try {
    await hubWorld((w) => fn({ ...w, dc }));
  } finally {
    await dc.stop();
  }
}

const addMailbox = (w: World, body: Record<string, unknown>) =>
  addMailboxFor(w.h, { user: MAIL_USER, password: MAIL_PASSWORD }, { forwardAttachments: true, ...body });

const poll = (w: World, id: string) => w.h.hub.notify.mailboxes.poll(w.h.org, id);
const texts = (w: World) => w.h.tg.messagesIn(w.tgChatId).filter((m) => !m.document).map((m) => m.text);
const documents = (w: World) => w.h.tg.messagesIn(w.tgChatId).filter((m) => m.document).map((m) => m.document!);

async function mailEvent(w: World, subject: string): Promise<HubEvent> {
  const events = await w.h.hub.events.recent(w.h.org, { types: ["mail.received"] });
  const e = events.find((x) => x.data.subject === subject);
  assert.ok(e, `no mail.received for ${subject}`);
  return e;
}

/** A 200 KiB mail: a short text and a 150 KiB attachment (≈200 KiB in base64). */
function bigMail(subject: string): Uint8Array {
  return mail({
    subject,
    text: "Во вложении годовой отчёт.",
    messageId: `<${crypto.randomUUID()}@example.ru>`,
    attachments: [{ filename: "отчёт.pdf", mimeType: "application/pdf", content: new Uint8Array(150 * 1024).fill(65) }],
  });
}

function smallMail(subject: string): Uint8Array {
  return mail({
    subject,
    text: "Короткое письмо.",
    messageId: `<${crypto.randomUUID()}@example.ru>`,
    attachments: [{ filename: "акт.pdf", mimeType: "application/pdf", content: new Uint8Array(2000).fill(66) }],
  });
}

/** What an oversized mail looks like in Telegram (the rule's template with the note as its text). */
function noteMessage(subject: string, size: number): string {
  return `📧 <b>${subject}</b>\n⚠️ Письмо ${formatSize(size)} больше предела 64 КБ — откройте его в почтовом клиенте.`;
}

/**
 * Checks the big mail's event and message, the small one's (unchanged: its text and its attachment
 * as a document), then that a next mail still arrives and nothing is read twice.
 */
async function assertCapped(
  w: World & { deliverNext(raw: Uint8Array): Promise<void> },
  id: string,
  { bigSize }: { bigSize: number },
) {
  const big = await mailEvent(w, "Годовой отчёт");
  assert.equal(big.data.oversized, true);
  assert.equal(big.data.size, bigSize);
  assert.deepEqual(big.data.attachments, [], "the attachment was never seen: the body was not fetched");
  assert.equal(big.data.from, "Бухгалтерия <buh@example.ru>");
  const small = await mailEvent(w, "Акт");
  assert.equal(small.data.oversized, false);
  assert.equal(small.data.text, "Короткое письмо.");
  assert.equal((small.data.attachments as Array<{ blobId?: string }>)[0].blobId?.length, 40);

  await until(() => texts(w).length === 2 && documents(w).length === 1);
  assert.deepEqual(texts(w).sort(), [noteMessage("Годовой отчёт", bigSize), "📧 <b>Акт</b>\nКороткое письмо."].sort());
  assert.equal(documents(w)[0].filename, "акт.pdf");

  // The mailbox goes on: the next mail arrives, the big one is not read again.
  await w.deliverNext(smallMail("Следующее"));
  assert.deepEqual(await poll(w, id), { fetched: 1, received: 1 });
  await until(() => texts(w).length === 3);
  assert.deepEqual(await poll(w, id), { fetched: 0, received: 0 });
  await w.h.hub.queue.idle();
  assert.equal(texts(w).length, 3);
  const box = (await (await w.h.api(`/api/v1/mailboxes`)).json()).items[0];
  assert.equal(box.status, "ok");
  assert.equal(box.received, 3);
  assert.equal(box.oversized, 1);
}

for (
  const [protocol, how] of [
    ["imap", "notified from its headers, marked oversized, its body never fetched"],
    ["pop3", "read with TOP n 0 only, marked oversized; the next mail still arrives"],
  ] as const
) {
  Deno.test(`${protocol.toUpperCase()}: a mail over the size cap is ${how}`, async () => {
    await dovecotWorld(async (w) => {
      const proxy = countingProxy(protocol === "imap" ? w.dc.imapPort : w.dc.popPort);
      try {
        const id = await addMailbox(w, { protocol, port: proxy.port });
        const raw = bigMail("Годовой отчёт");
        assert.ok(raw.length > 200 * 1024);
        await w.dc.deliver(raw);
        await w.dc.deliver(smallMail("Акт"));
        assert.deepEqual(await poll(w, id), { fetched: 2, received: 2 });
        assert.ok(proxy.fromServer < CAP, `the server sent ${proxy.fromServer} bytes: the big body was fetched`);
        // Dovecot's RFC822.SIZE and LIST count the mail as stored (CRLF line ends, as delivered).
        await assertCapped({ ...w, deliverNext: (r) => w.dc.deliver(r) }, id, { bigSize: raw.length });
      } finally {
        await proxy.close();
      }
    });
  });
}

Deno.test("IMAP: a server that states a smaller RFC822.SIZE sends at most one byte past the cap; the mail is oversized", async () => {
  await dovecotWorld(async (w) => {
    const proxy = countingProxy(w.dc.imapPort, { statedSize: 1000 });
    try {
      const id = await addMailbox(w, { protocol: "imap", port: proxy.port });
      await w.dc.deliver(bigMail("Годовой отчёт"));
      await w.dc.deliver(smallMail("Акт"));
      assert.deepEqual(await poll(w, id), { fetched: 2, received: 2 });
      assert.ok(proxy.fromServer < CAP + 16 * 1024, `the server sent ${proxy.fromServer} bytes`);
      const big = await mailEvent(w, "Годовой отчёт");
      assert.equal(big.data.oversized, true);
      assert.deepEqual(big.data.attachments, []);
      assert.equal(
        big.data.text,
        "⚠️ Письмо больше предела 64 КБ (сервер указал 1000 Б) — откройте его в почтовом клиенте.",
      );
      assert.equal((await mailEvent(w, "Акт")).data.oversized, false);
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("POP3 fake: a RETR that runs past the cap although LIST said less is cut off; the mail is oversized, the next one arrives", async () => {
  const pop = startPop3Fake({ users: { [MAIL_USER]: MAIL_PASSWORD } });
  try {
    await hubWorld(async (w) => {
      const id = await addMailbox(w, { protocol: "pop3", port: pop.port });
      pop.deliver(MAIL_USER, bigMail("Годовой отчёт"), { listedSize: 1000 });
      pop.deliver(MAIL_USER, smallMail("Акт"));
      // The cut-off answer ends the session (the rest of it is still on the wire); the next poll goes on.
      assert.deepEqual(await poll(w, id), { fetched: 1, received: 1 });
      const big = await mailEvent(w, "Годовой отчёт");
      assert.equal(big.data.oversized, true);
      assert.equal(big.data.size, 1000);
      assert.deepEqual(big.data.attachments, []);
      assert.equal(
        big.data.text,
        "⚠️ Письмо больше предела 64 КБ (сервер указал 1000 Б) — откройте его в почтовом клиенте.",
      );
      assert.deepEqual(await poll(w, id), { fetched: 1, received: 1 });
      assert.equal((await mailEvent(w, "Акт")).data.text, "Короткое письмо.");
      assert.deepEqual(await poll(w, id), { fetched: 0, received: 0 });
      await until(() => texts(w).length === 2);
      assert.equal(pop.state.commands.filter((c) => c === "RETR 1").length, 1, "the big mail is not read again");

      // The mailboxes section of the page says how many were over the cap (Russian first).
      const login = await fetch(`${w.h.url}/admin/login`, {
        method: "POST",
        body: new URLSearchParams({ email: EMAIL, password: PASSWORD, next: "/admin/notifications" }),
        redirect: "manual",
      });
      await login.body?.cancel();
      const cookie = login.headers.get("set-cookie")!.split(";")[0];
      const page = await fetch(`${w.h.url}/admin/notifications`, { headers: { cookie } });
      const html = await page.text();
      assert.equal(page.status, 200);
      assert.match(html, /data-testid="mailbox-oversized">1 письмо больше предела — только заголовки</);
    });
  } finally {
    await pop.close();
  }
});

Deno.test("readBounded() stops reading an endless answer past the limit and unstuffs dots across chunks", async () => {
  const enc = new TextEncoder();
  let pulled = 0;
  async function* endless() {
    for (;;) {
      pulled++;
      yield enc.encode("x".repeat(1000) + "\r\n");
    }
  }
  const cut = await readBounded(endless(), 10_000);
  assert.equal(cut.overflow, true);
  assert.ok(pulled <= 11 && cut.bytes.length <= 11_000, `read ${pulled} chunks`);

  async function* chunks(...parts: string[]) {
    for (const p of parts) yield enc.encode(p);
  }
  const whole = await readBounded(chunks("a\r\n.", ".b\r\n", "..", "c\r\n.d\r\n."), 1000);
  assert.equal(whole.overflow, false);
  assert.equal(new TextDecoder().decode(whole.bytes), "a\r\n.b\r\n.c\r\n.d\r\n.");
});

/**
 * A TCP proxy that counts the bytes the server sends and, with `statedSize`, rewrites every
 * RFC822.SIZE the server states (a server that understates sizes).
 */
function countingProxy(target: number, { statedSize }: { statedSize?: number } = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const pipes = new Set<Promise<void>>();
  const state = { port: (listener.addr as Deno.NetAddr).port, fromServer: 0, close: async () => {} };
  const latin1 = new TextDecoder("latin1");
  const pipe = async (from: Deno.Conn, to: Deno.Conn, fromServer: boolean) => {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        let chunk = buf.slice(0, n);
        if (fromServer) {
          state.fromServer += n;
          if (statedSize !== undefined) {
            const text = latin1.decode(chunk).replace(/RFC822\.SIZE \d+/g, `RFC822.SIZE ${statedSize}`);
            chunk = Uint8Array.from(text, (c) => c.charCodeAt(0));
          }
        }
        let off = 0;
        while (off < chunk.length) off += await to.write(chunk.subarray(off));
      }
    } catch { /* closed */ }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch { /* already */ }
      conns.delete(c);
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.add(client);
      conns.add(server);
      for (const p of [pipe(server, client, true), pipe(client, server, false)]) {
        pipes.add(p);
        p.finally(() => pipes.delete(p));
      }
    }
  })().catch(() => {});
  state.close = async () => {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* already */ }
    }
    await Promise.all([...pipes]);
    await accepting;
  };
  return state;
}
