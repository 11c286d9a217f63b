import assert from "node:assert/strict";
import { verifyWebhook } from "../../lib/enrichment/webhooks.ts";
import { startHarness, waitFor } from "../helpers/enrichment.ts";

Deno.test("results are delivered to the organization's webhook, signed, and retried after a 503", async () => {
  const got: Array<{ ok: boolean; body: unknown }> = [];
  let answered = 0;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const text = await req.text();
    if (answered++ === 0) return new Response("busy", { status: 503 });
    got.push({ ok: await verifyWebhook("whsec-123", req.headers, text), body: JSON.parse(text) });
    return new Response(null, { status: 204 });
  });
  const h = await startHarness({ options: { enrich: () => Promise.resolve({ qc: 0 }) } });
  try {
    // The receiver is on 127.0.0.1: the organization has to allow private networks.
    await h.hub.settings.write("o", "general", { allowPrivateNetworks: true });
    await h.svc.writeSettings("o", "enrichment", {
      webhookUrl: `http://127.0.0.1:${receiver.addr.port}/hook`,
      webhookSecret: "whsec-123",
    });
    const masked = await h.hub.settings.masked("o", "enrichment");
    assert.equal(masked.webhookSecret, "••••");
    const r = await h.svc.processor.processNow("o", { task_id: 77, task_type: "email", data: "a@b.ru" });
    await waitFor(() => got.length === 1, 10_000, "webhook delivery");
    assert.equal(got[0].ok, true, "signature verifies");
    assert.deepEqual(got[0].body, { event: "task.result", results: [{ task_id: 77, id: r.id }] });
    assert.equal(answered, 2);
    assert.equal(
      await verifyWebhook("wrong", new Headers({ "x-shlyuz-timestamp": "1", "x-shlyuz-signature": "x" }), ""),
      false,
    );
  } finally {
    await h.close();
    await receiver.shutdown();
  }
});

Deno.test("a result webhook to a private address is refused unless the organization allows it", async () => {
  let calls = 0;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    calls++;
    return new Response(null, { status: 204 });
  });
  const h = await startHarness({ options: { enrich: () => Promise.resolve({ qc: 0 }) } });
  try {
    await h.svc.writeSettings("o", "enrichment", {
      webhookUrl: `http://127.0.0.1:${receiver.addr.port}/hook`,
      webhookSecret: "whsec-123",
    });
    await h.svc.processor.processNow("o", { task_id: 78, task_type: "email", data: "a@b.ru" });
    await waitFor(
      async () => {
        const { items } = await h.hub.queue.dead.list("o", { kind: "task.webhook" });
        return items.length === 1;
      },
      10_000,
      "webhook dead-lettered",
    );
    const { items } = await h.hub.queue.dead.list("o", { kind: "task.webhook" });
    assert.match(items[0].reason, /^Cannot deliver the result webhook: .*private/i);
    assert.equal(calls, 0, "the private address was never called");
  } finally {
    await h.close();
    await receiver.shutdown();
  }
});

Deno.test("a result webhook answering 408 is retried and delivered, not dead-lettered at once", async () => {
  let answered = 0;
  let delivered = 0;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.text();
    if (answered++ === 0) return new Response("request timeout", { status: 408 });
    delivered++;
    return new Response(null, { status: 204 });
  });
  const h = await startHarness({ options: { enrich: () => Promise.resolve({ qc: 0 }) } });
  try {
    await h.hub.settings.write("o", "general", { allowPrivateNetworks: true });
    await h.svc.writeSettings("o", "enrichment", {
      webhookUrl: `http://127.0.0.1:${receiver.addr.port}/hook`,
      webhookSecret: "whsec-408",
    });
    await h.svc.processor.processNow("o", { task_id: 79, task_type: "email", data: "a@b.ru" });
    await waitFor(() => delivered === 1, 10_000, "webhook delivered after the 408");
    assert.equal(answered, 2, "one 408, then the retry");
    const { items } = await h.hub.queue.dead.list("o", { kind: "task.webhook" });
    assert.deepEqual(items, [], "nothing dead-lettered");
  } finally {
    await h.close();
    await receiver.shutdown();
  }
});
