/**
 * Digest rules and mail attachments: the attachments a mailbox kept follow
 * the digest message as documents (bytes intact, each file once), the ones
 * not kept are named in their items, and a digest sends at most
 * DIGEST_DOCUMENTS_MAX files and DIGEST_DOCUMENT_BYTES, naming the rest.
 */
import assert from "node:assert/strict";
import { type NotifyHarness, startNotifyHarness, until } from "./_setup.ts";
import { DIGEST_DOCUMENTS_MAX, type MailAttachment, storeBlob } from "../../lib/notify/mail/attachments.ts";
import type { DeliveryRecord } from "../../lib/notify/store.ts";

async function digestWorld(fn: (w: { h: NotifyHarness; tgChatId: number; ruleId: string }) => Promise<void>) {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("digest_bot");
    const { tgChatId, chat } = await h.addGroup(token, "Почта");
    const { id } = await h.createRule({
      name: "Почта",
      eventType: "mail.received",
      template: "📧 {{subject}}",
      targets: [{ chatId: chat.id }],
      digestMinutes: 5,
    });
    await fn({ h, tgChatId, ruleId: id });
  } finally {
    await h.close();
  }
}

async function publishMail(h: NotifyHarness, subject: string, attachments: MailAttachment[]) {
  await h.publish("mail.received", {
    mailboxId: "mb1",
    mailbox: "Бухгалтерия",
    dedupeKey: `mail:mb1:${crypto.randomUUID()}`,
    messageId: `${crypto.randomUUID()}@example.ru`,
    from: "buh@example.ru",
    to: "duty@example.ru",
    subject,
    text: "",
    attachments,
  });
}

async function sendDigest(h: NotifyHarness, ruleId: string): Promise<DeliveryRecord> {
  await h.hub.notify.idle();
  const window = (await h.hub.kv.get<string>(["ndigest_open", h.org, ruleId])).value;
  assert.ok(window, "a digest window is open");
  assert.equal(await h.hub.notify.router.digest(h.org, { ruleId, window }), 1);
  const [d] = (await h.hub.notify.store.listDeliveries(h.org)).filter((x) => x.ruleId === ruleId);
  assert.ok(d);
  return (await h.hub.notify.store.getDelivery(h.org, d.id))!;
}

Deno.test("a digest of mails sends their kept attachments as documents after its text; the others are named in their items", async () => {
  await digestWorld(async ({ h, tgChatId, ruleId }) => {
    const act = crypto.getRandomValues(new Uint8Array(3000));
    const invoice = crypto.getRandomValues(new Uint8Array(5000));
    const actId = await storeBlob(h.hub.kv, h.org, act);
    const invoiceId = await storeBlob(h.hub.kv, h.org, invoice);
    await publishMail(h, "Акт", [{ filename: "акт.pdf", mimeType: "application/pdf", size: 3000, blobId: actId }]);
    await publishMail(h, "Счёт", [
      { filename: "счёт.pdf", mimeType: "application/pdf", size: 5000, blobId: invoiceId },
      { filename: "скан.tiff", mimeType: "image/tiff", size: 12 * 1024 * 1024, skipped: "больше 5 МБ" },
    ]);
    // The same file again in a third mail: sent once.
    await publishMail(h, "Акт (повтор)", [{
      filename: "акт.pdf",
      mimeType: "application/pdf",
      size: 3000,
      blobId: actId,
    }]);
    const d = await sendDigest(h, ruleId);
    assert.deepEqual(d.documents?.map((x) => x.filename), ["акт.pdf", "счёт.pdf"]);

    await until(() => h.tg.messagesIn(tgChatId).length === 3, { timeoutMs: 10_000 });
    const [text, first, second] = h.tg.messagesIn(tgChatId);
    assert.equal(
      text.text,
      "<b>3 события за 5 мин — Почта</b>\n• 📧 Акт\n• 📧 Счёт\n📎 Не переслано: скан.tiff (12 МБ) — больше 5 МБ\n" +
        "• 📧 Акт (повтор)",
    );
    assert.equal(first.document?.filename, "акт.pdf");
    assert.deepEqual(first.document?.bytes, act);
    assert.equal(second.document?.filename, "счёт.pdf");
    assert.deepEqual(second.document?.bytes, invoice);
    await until(async () => (await h.hub.notify.store.getDelivery(h.org, d.id))?.status === "sent");
    assert.equal((await h.hub.notify.store.getDelivery(h.org, d.id))?.documentsSent, 2);
    // The window's documents went with its items.
    const left = await Array.fromAsync(h.hub.kv.list({ prefix: ["ndigest_doc", h.org, ruleId] }));
    assert.equal(left.length, 0);
  });
});

Deno.test("a digest sends at most DIGEST_DOCUMENTS_MAX documents and names the others with the reason", async () => {
  await digestWorld(async ({ h, ruleId }) => {
    const count = DIGEST_DOCUMENTS_MAX + 2;
    for (let i = 1; i <= count; i++) {
      const blobId = await storeBlob(h.hub.kv, h.org, new Uint8Array(1024).fill(i));
      await publishMail(h, `Письмо ${i}`, [{
        filename: `файл-${i}.pdf`,
        mimeType: "application/pdf",
        size: 1024,
        blobId,
      }]);
    }
    const d = await sendDigest(h, ruleId);
    assert.equal(d.documents?.length, DIGEST_DOCUMENTS_MAX);
    assert.equal(d.documents?.at(-1)?.filename, `файл-${DIGEST_DOCUMENTS_MAX}.pdf`);
    assert.ok(
      d.text.endsWith(
        `\n\n📎 Не переслано: файл-11.pdf (1 КБ); файл-12.pdf (1 КБ) — в сводке не больше ${DIGEST_DOCUMENTS_MAX} файлов и 20 МБ`,
      ),
      d.text,
    );
  });
});
