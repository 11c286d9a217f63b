/**
 * Mailboxes against a real Dovecot (IMAP and POP3): new mail becomes a
 * Telegram message; Cyrillic in windows-1251 and KOI8-R comes out right; a
 * crash mid-batch, a UIDVALIDITY change and a connection dropped again and
 * again mid-fetch never repeat or skip a mail; a failing mailbox shows the
 * server's words and raises mail.failed.
 */
import assert from "node:assert/strict";
import { type Dovecot, mail, MAIL_PASSWORD, MAIL_USER, startDovecot } from "./_dovecot.ts";
import { addMailbox as addMailboxFor, type MailWorld, until, withMailWorld } from "./_setup.ts";

interface World extends MailWorld {
  dc: Dovecot;
}

async function world(fn: (w: World) => Promise<void>) {
  const dc = await startDovecot();
  if (!dc) return;
  try {
    await withMailWorld({ template: "📧 <b>{{subject}}</b>\nОт: {{from}}\n{{text}}" }, (w) => fn({ ...w, dc }));
  } finally {
    await dc.stop();
  }
}

const addMailbox = (w: World, body: Record<string, unknown>) =>
  addMailboxFor(w.h, { user: MAIL_USER, password: MAIL_PASSWORD }, body);

const poll = (w: World, id: string) => w.h.hub.notify!.mailboxes.poll(w.h.org, id);
const texts = (w: World) => w.h.tg.messagesIn(w.tgChatId).map((m) => m.text);

Deno.test("IMAP: new mail becomes a Telegram message; windows-1251, KOI8-R and HTML bodies come out as readable Cyrillic", async () => {
  await world(async (w) => {
    const id = await addMailbox(w, { protocol: "imap", port: w.dc.imapPort });
    await w.dc.deliver(mail({ subject: "Счёт №42 оплачен", body: "Добрый день! Оплата получена.", messageId: "a@x" }));
    await w.dc.deliver(
      mail({ subject: "Привет, мир", body: "Текст в windows-1251", charset: "windows-1251", messageId: "b@x" }),
    );
    await w.dc.deliver(mail({ subject: "Заявка КОИ-8", body: "Текст в KOI8-R", charset: "koi8-r", messageId: "c@x" }));
    await w.dc.deliver(
      mail({ subject: "Отчёт", body: "<p>Итого: <b>5 задач</b></p><p>Подробнее</p>", html: true, messageId: "d@x" }),
    );
    assert.deepEqual(await poll(w, id), { fetched: 4, received: 4 });
    await until(() => texts(w).length === 4);
    const all = texts(w).join("\n---\n");
    assert.match(
      all,
      /📧 <b>Счёт №42 оплачен<\/b>\nОт: Бухгалтерия &lt;buh@example\.ru&gt;\nДобрый день! Оплата получена\./,
    );
    assert.match(all, /<b>Привет, мир<\/b>[\s\S]*Текст в windows-1251/);
    assert.match(all, /<b>Заявка КОИ-8<\/b>[\s\S]*Текст в KOI8-R/);
    assert.match(all, /<b>Отчёт<\/b>[\s\S]*Итого: 5 задач[\s\S]*Подробнее/);
    // Nothing new: nothing sent.
    assert.deepEqual(await poll(w, id), { fetched: 0, received: 0 });
    const box = (await (await w.h.api("/api/v1/mailboxes")).json()).items[0];
    assert.equal(box.status, "ok");
    assert.equal(box.received, 4);
    assert.equal("password" in box, false);
  });
});

Deno.test("IMAP: a crash mid-batch after a mail was queued, then a restart: no duplicate, no gap", async () => {
  await world(async (w) => {
    const id = await addMailbox(w, { protocol: "imap", port: w.dc.imapPort });
    for (let i = 1; i <= 5; i++) await w.dc.deliver(mail({ subject: `Письмо ${i}`, body: "x", messageId: `m${i}@x` }));
    const router = w.h.hub.notify!.router;
    const route = router.route.bind(router);
    // The 3rd mail's messages are queued, then the process "dies" before the cursor moves.
    router.route = async (e) => {
      const r = await route(e);
      if (e.type === "mail.received" && e.data.subject === "Письмо 3") throw new Error("crash after queuing");
      return r;
    };
    const first = await poll(w, id);
    assert.deepEqual(first, { fetched: 0, received: 2 });
    router.route = route;
    const second = await poll(w, id);
    assert.equal(second?.fetched, 3);
    await until(() => texts(w).length === 5, { timeoutMs: 15_000 });
    await w.h.hub.queue.idle();
    assert.deepEqual(texts(w).map((t) => /Письмо (\d)/.exec(t)![1]).sort(), ["1", "2", "3", "4", "5"]);
  });
});

Deno.test("IMAP: a UIDVALIDITY change re-scans without repeating mail, then new mail still arrives", async () => {
  await world(async (w) => {
    const id = await addMailbox(w, { protocol: "imap", port: w.dc.imapPort });
    await w.dc.deliver(mail({ subject: "Первое", body: "1", messageId: "u1@x" }));
    await w.dc.deliver(mail({ subject: "Второе", body: "2", messageId: "u2@x" }));
    await poll(w, id);
    await until(() => texts(w).length === 2);
    await w.dc.changeUidValidity(4242);
    const again = await poll(w, id);
    assert.deepEqual(again, { fetched: 2, received: 0 }, "re-read after the change, recognised by Message-ID");
    await w.dc.deliver(mail({ subject: "Третье", body: "3", messageId: "u3@x" }));
    assert.deepEqual(await poll(w, id), { fetched: 1, received: 1 });
    await until(() => texts(w).length === 3);
    await w.h.hub.queue.idle();
    assert.equal(texts(w).length, 3);
  });
});

Deno.test("IMAP: the connection dropped 10 times mid-fetch — every mail delivered exactly once", async () => {
  await world(async (w) => {
    const proxy = dropProxy(w.dc.imapPort, 10);
    try {
      const id = await addMailbox(w, { protocol: "imap", port: proxy.port });
      // Each mail (≈18 KB, most of it in headers so its message stays one part) is fetched on its own: the first
      // ten connections, cut after 3 KB, 7 KB, … 39 KB, cannot take all twelve, so each of them is cut mid-fetch.
      const big = "Строка письма. ".repeat(120);
      const padding = new TextEncoder().encode(
        Array.from({ length: 16 }, (_, i) => `X-Padding-${i}: ${"x".repeat(900)}\r\n`).join(""),
      );
      for (let i = 1; i <= 12; i++) {
        const body = mail({ subject: `Обрыв ${i}`, body: big, messageId: `d${i}@x` });
        const raw = new Uint8Array(padding.length + body.length);
        raw.set(padding);
        raw.set(body, padding.length);
        await w.dc.deliver(raw);
      }
      let received = 0;
      for (let i = 0; i < 40 && (received < 12 || proxy.drops < 10); i++) {
        received += (await poll(w, id))?.received ?? 0;
      }
      assert.equal(proxy.drops, 10);
      assert.equal(received, 12);
      await until(() => texts(w).length === 12, { timeoutMs: 30_000 });
      await w.h.hub.queue.idle();
      const nums = texts(w).map((t) => Number(/Обрыв (\d+)/.exec(t)![1])).sort((a, b) => a - b);
      assert.deepEqual(nums, Array.from({ length: 12 }, (_, i) => i + 1));
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("POP3: raw 8-bit windows-1251 mail arrives as Cyrillic, once; seen UIDLs survive the next poll", async () => {
  await world(async (w) => {
    const id = await addMailbox(w, { protocol: "pop3", port: w.dc.popPort });
    await w.dc.deliver(
      mail({
        subject: "Акт сверки",
        body: "Сумма: 1 000 руб.\n.точка в начале строки",
        charset: "windows-1251",
        messageId: "p1@x",
      }),
    );
    await w.dc.deliver(mail({ subject: "Письмо КОИ", body: "Ёжик в тумане", charset: "koi8-r", messageId: "p2@x" }));
    assert.deepEqual(await poll(w, id), { fetched: 2, received: 2 });
    await until(() => texts(w).length === 2);
    const all = texts(w).join("\n");
    assert.match(all, /<b>Акт сверки<\/b>[\s\S]*Сумма: 1 000 руб\.\n\.точка в начале строки/);
    assert.match(all, /<b>Письмо КОИ<\/b>[\s\S]*Ёжик в тумане/);
    assert.deepEqual(await poll(w, id), { fetched: 0, received: 0 });
    await w.dc.deliver(mail({ subject: "Ещё одно", body: "3", messageId: "p3@x" }));
    assert.deepEqual(await poll(w, id), { fetched: 1, received: 1 });
  });
});

Deno.test("a mailbox that cannot be read shows the server's error and raises mail.failed; Test connection says why", async () => {
  await world(async (w) => {
    const bad = { protocol: "imap", port: w.dc.imapPort, password: "wrong-password" };
    const tested = await (await w.h.api("/api/v1/mailboxes/test", {
      method: "POST",
      json: { name: "x", host: "127.0.0.1", security: "none", user: MAIL_USER, ...bad },
    })).json();
    assert.equal(tested.ok, false);
    assert.match(tested.error, /Authentication failed/);
    const good = await (await w.h.api("/api/v1/mailboxes/test", {
      method: "POST",
      json: {
        name: "x",
        host: "127.0.0.1",
        security: "none",
        user: MAIL_USER,
        password: MAIL_PASSWORD,
        protocol: "pop3",
        port: w.dc.popPort,
      },
    })).json();
    assert.deepEqual(good, { ok: true });

    const id = await addMailbox(w, bad);
    await poll(w, id);
    await poll(w, id);
    const box = (await (await w.h.api("/api/v1/mailboxes")).json()).items[0];
    assert.equal(box.status, "failing");
    assert.match(box.lastError, /Authentication failed/);
    const events = await w.h.hub.events.recent(w.h.org, { types: ["mail.failed"] });
    assert.equal(events.length, 1, "raised once when it started failing");

    // The organization's address policy applies to mail hosts.
    await w.h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: false } }).then((r) =>
      r.body?.cancel()
    );
    const refused = await w.h.api("/api/v1/mailboxes", {
      method: "POST",
      json: { name: "y", host: "127.0.0.1", port: 143, security: "none", user: "u", password: "p", protocol: "imap" },
    });
    assert.equal(refused.status, 422);
    assert.match((await refused.json()).error.message, /host: .*general\.allowPrivateNetworks/);
  });
});

/** A TCP proxy to Dovecot that cuts the first `times` connections after a growing number of bytes from the server. */
function dropProxy(target: number, times: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { port: (listener.addr as Deno.NetAddr).port, drops: 0, close: async () => {} };
  const conns = new Set<Deno.Conn>();
  let n = 0;
  const accepting = (async () => {
    for await (const client of listener) {
      const k = n++;
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.add(client);
      conns.add(server);
      const limit = k < times ? 3000 + k * 4000 : Infinity;
      const pipe = async (from: Deno.Conn, to: Deno.Conn, count: boolean) => {
        let sent = 0;
        const buf = new Uint8Array(4096);
        try {
          while (true) {
            const r = await from.read(buf);
            if (r === null) break;
            let chunk = buf.subarray(0, r);
            if (count && sent + r > limit) chunk = chunk.subarray(0, limit - sent);
            let off = 0;
            while (off < chunk.length) off += await to.write(chunk.subarray(off));
            sent += chunk.length;
            if (count && sent >= limit) {
              state.drops++;
              break;
            }
          }
        } catch { /* closed */ }
        for (const c of [client, server]) {
          try {
            c.close();
          } catch { /* already */ }
          conns.delete(c);
        }
      };
      pipe(server, client, true);
      pipe(client, server, false);
    }
  })().catch(() => {});
  state.close = async () => {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* already */ }
    }
    await accepting;
  };
  return state;
}
