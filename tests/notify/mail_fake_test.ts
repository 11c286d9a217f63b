/**
 * Mail through the POP3 fake (tests/fakes/mail_server.ts: nothing to
 * install): a new mail reaches the group through a mail.received rule, once;
 * attachments are forwarded as Telegram documents when the mailbox says so —
 * the bytes arrive intact, one over the mailbox's cap is listed under the
 * message with a note and not sent — and by default they are only listed in
 * the event.
 */
import assert from "node:assert/strict";
import { type NotifyHarness, startNotifyHarness, until } from "./_setup.ts";
import { mail, type Pop3Fake, startPop3Fake } from "../fakes/mail_server.ts";

interface World {
  h: NotifyHarness;
  pop: Pop3Fake;
  tgChatId: number;
}

async function world(fn: (w: World) => Promise<void>) {
  const pop = startPop3Fake({ users: { duty: "duty-password" } });
  const h = await startNotifyHarness();
  try {
    const res = await h.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    await res.body?.cancel();
    const { token } = await h.addBot("mail_bot");
    const { tgChatId, chat } = await h.addGroup(token, "Почта");
    await h.createRule({
      name: "Вся почта",
      eventType: "mail.received",
      template: "📧 <b>{{subject}}</b>\n{{text}}",
      targets: [{ chatId: chat.id }],
    });
    await fn({ h, pop, tgChatId });
  } finally {
    await h.close();
    await pop.close();
  }
}

async function addMailbox(w: World, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await w.h.api("/api/v1/mailboxes", {
    method: "POST",
    json: {
      name: "Дежурная почта",
      protocol: "pop3",
      host: w.pop.host,
      port: w.pop.port,
      security: "none",
      user: "duty",
      password: "duty-password",
      startFrom: "all",
      ...extra,
    },
  });
  const out = await res.json();
  assert.equal(res.status, 201, JSON.stringify(out));
  return out.id;
}

const poll = (w: World, id: string) => w.h.hub.notify.mailboxes.poll(w.h.org, id);
const sent = (w: World) => w.h.tg.messagesIn(w.tgChatId);

Deno.test("POP3 fake: a new mail reaches the group through a mail.received rule, once; windows-1251 comes out right", async () => {
  await world(async (w) => {
    const id = await addMailbox(w);
    w.pop.deliver("duty", mail({ subject: "Счёт №42 оплачен", text: "Оплата получена.", charset: "windows-1251" }));
    assert.deepEqual(await poll(w, id), { fetched: 1, received: 1 });
    await until(() => sent(w).length === 1);
    assert.equal(sent(w)[0].text, "📧 <b>Счёт №42 оплачен</b>\nОплата получена.");
    // The next poll finds nothing new; the mail stays on the server.
    assert.deepEqual(await poll(w, id), { fetched: 0, received: 0 });
    assert.equal(w.pop.count("duty"), 1);
    await w.h.hub.queue.idle();
    assert.equal(sent(w).length, 1);
    const [event] = await w.h.hub.events.recent(w.h.org, { types: ["mail.received"] });
    assert.equal(event.data.mailbox, "Дежурная почта");
  });
});

Deno.test("attachments: under the cap forwarded as documents with their bytes; over it listed with a note, not sent", async () => {
  await world(async (w) => {
    const id = await addMailbox(w, { forwardAttachments: true, attachmentMaxBytes: 4096 });
    const small = crypto.getRandomValues(new Uint8Array(3000));
    const big = new Uint8Array(10_000).fill(7);
    w.pop.deliver(
      "duty",
      mail({
        subject: "Акт сверки",
        text: "Во вложении акт.",
        attachments: [
          { filename: "Акт сверки.pdf", mimeType: "application/pdf", content: small },
          { filename: "скан <большой>.tiff", mimeType: "image/tiff", content: big },
        ],
      }),
    );
    assert.deepEqual(await poll(w, id), { fetched: 1, received: 1 });
    await until(() => sent(w).length === 2);
    const [text, doc] = sent(w);
    assert.equal(
      text.text,
      "📧 <b>Акт сверки</b>\nВо вложении акт.\n\n📎 Не переслано: скан &lt;большой&gt;.tiff (10 КБ) — больше 4 КБ",
    );
    assert.equal(doc.document?.filename, "Акт сверки.pdf");
    assert.deepEqual(doc.document?.bytes, small);
    const [d] = await w.h.hub.notify.store.listDeliveries(w.h.org);
    await until(async () => (await w.h.hub.notify.store.getDelivery(w.h.org, d.id))?.status === "sent");
    assert.equal((await w.h.hub.notify.store.getDelivery(w.h.org, d.id))?.documentsSent, 1);
    const [event] = await w.h.hub.events.recent(w.h.org, { types: ["mail.received"] });
    const listed = event.data.attachments as Array<Record<string, unknown>>;
    assert.equal(listed.length, 2);
    assert.ok(listed[0].blobId);
    assert.equal(listed[1].skipped, "больше 4 КБ");

    // A redelivered notify.send of the sent delivery uploads nothing again.
    await w.h.hub.queue.handle({ v: 1, kind: "notify.send", org: w.h.org, id: "again", payload: { deliveryId: d.id } });
    await w.h.hub.queue.idle();
    assert.equal(sent(w).length, 2);
  });
});

Deno.test("attachments are not forwarded unless the mailbox says so (listed in the event only)", async () => {
  await world(async (w) => {
    const id = await addMailbox(w);
    w.pop.deliver(
      "duty",
      mail({
        subject: "Счёт",
        text: "См. вложение",
        attachments: [{ filename: "счёт.pdf", content: new Uint8Array(100).fill(1) }],
      }),
    );
    await poll(w, id);
    await until(() => sent(w).length === 1);
    await w.h.hub.queue.idle();
    assert.equal(sent(w).length, 1);
    assert.equal(sent(w)[0].text, "📧 <b>Счёт</b>\nСм. вложение");
    const [event] = await w.h.hub.events.recent(w.h.org, { types: ["mail.received"] });
    assert.deepEqual(event.data.attachments, [{
      filename: "счёт.pdf",
      mimeType: "application/octet-stream",
      size: 100,
    }]);
  });
});

Deno.test("a stored password goes only to the same server: another host, port, user or security is a 422 on password", async () => {
  await world(async (w) => {
    const id = await addMailbox(w);
    const base = {
      name: "Дежурная почта",
      protocol: "pop3",
      host: w.pop.host,
      port: w.pop.port,
      security: "none",
      user: "duty",
      startFrom: "all",
    };
    const elsewhere = startPop3Fake({ users: { duty: "anything" } });
    try {
      for (const change of [{ port: elsewhere.port }, { user: "other" }, { security: "tls" }]) {
        const test = await w.h.api("/api/v1/mailboxes/test", { method: "POST", json: { ...base, ...change, id } });
        const tested = await test.json();
        assert.equal(test.status, 422, JSON.stringify(tested));
        assert.equal(tested.error.details[0].field, "password");
        const put = await w.h.api(`/api/v1/mailboxes/${id}`, { method: "PUT", json: { ...base, ...change } });
        const saved = await put.json();
        assert.equal(put.status, 422, JSON.stringify(saved));
        assert.equal(saved.error.details[0].field, "password");
      }
      // Sent again, the password goes where the admin says.
      const moved = await w.h.api(`/api/v1/mailboxes/${id}`, {
        method: "PUT",
        json: { ...base, port: elsewhere.port, password: "anything" },
      });
      assert.equal(moved.status, 200, await moved.text());
      // Same server, account and security: the stored password is kept for a test and a save.
      const same = { ...base, port: elsewhere.port, name: "Переименована" };
      const test = await w.h.api("/api/v1/mailboxes/test", { method: "POST", json: { ...same, id } });
      assert.deepEqual(await test.json(), { ok: true });
      const put = await w.h.api(`/api/v1/mailboxes/${id}`, { method: "PUT", json: same });
      assert.equal(put.status, 200, await put.text());
    } finally {
      await elsewhere.close();
    }
  });
});
