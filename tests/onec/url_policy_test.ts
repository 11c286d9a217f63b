import assert from "node:assert/strict";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { createOrg } from "../../lib/accounts/store.ts";
import { UpstreamApiError } from "../../lib/errors.ts";
import { SETTINGS_SECTION } from "../../lib/onec/settings.ts";
import { startBitrix24Fake } from "../fakes/bitrix24.ts";
import { startTestHub } from "../helpers/hub.ts";
import { request, setup, TestClock } from "../helpers/onec.ts";

Deno.test("PUT /onec/settings refuses a metadata webhook even with private networks allowed, naming webhookUrl", async () => {
  const t = await startTestHub();
  try {
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    for (const webhookUrl of ["http://169.254.169.254/rest/1/code/", "http://metadata.google.internal/rest/1/code/"]) {
      const res = await t.api("/api/v1/onec/settings", { method: "PUT", json: { webhookUrl } });
      assert.equal(res.status, 422, webhookUrl);
      const body = await res.json();
      assert.deepEqual(body.error.details.map((d: { field: string }) => d.field), ["webhookUrl"]);
      assert.match(body.error.message, /webhookUrl: .*always refused/);
    }
    const s = await (await t.api("/api/v1/onec/settings")).json();
    assert.equal(s.webhookUrl, null, "nothing was written");
  } finally {
    await t.close();
  }
});

Deno.test("PUT /onec/settings refuses a webhook on 127.0.0.1 unless the organization allows private networks", async () => {
  const clock = new TestClock();
  const fake = await startBitrix24Fake({ now: () => clock.now() });
  const t = await startTestHub({ clock });
  try {
    const refused = await t.api("/api/v1/onec/settings", { method: "PUT", json: { webhookUrl: fake.webhookUrl } });
    assert.equal(refused.status, 422);
    const body = await refused.json();
    assert.deepEqual(body.error.details.map((d: { field: string }) => d.field), ["webhookUrl"]);
    assert.match(body.error.details[0].message, /allowPrivateNetworks/);

    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    const ok = await t.api("/api/v1/onec/settings", { method: "PUT", json: { webhookUrl: fake.webhookUrl } });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).webhookUrl, fake.webhookUrl.replace("testcode", "••••"));
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a stored webhook the address policy refuses is not called; BITRIX_WEBHOOK itself is not checked", async () => {
  const h = await setup();
  try {
    // BITRIX_WEBHOOK (on 127.0.0.1) serves the first organization without allowPrivateNetworks.
    assert.equal((await h.svc.intake(h.org, request("A-1", "Механообработка"))).outcome, "ok");

    // Another organization's own webhook (the same fake, another spelling) is checked when the client is built.
    const other = (await createOrg(h.kv, "Другая фирма", { actor: SYSTEM_ACTOR })).id;
    const own = h.fake.webhookUrl.replace(/\/$/, "");
    await h.settings.write(other, SETTINGS_SECTION, { webhookUrl: own }, ["webhookUrl"]);
    const tasksBefore = h.fake.state.tasks.length;
    const r = await h.svc.intake(other, request("O-1", "Механообработка"), { requestId: "req-o" });
    assert.equal(r.outcome, "failed");
    assert.match(
      r.failure ?? "",
      /Refused the organization's inbound webhook \(webhookUrl\) for Bitrix24: Cannot call 127\.0\.0\.1: .*allowPrivateNetworks/,
    );
    assert.equal(h.fake.state.tasks.length, tasksBefore, "the portal was not called");
    const err = await h.svc.refreshCaches(other).then(() => null, (e) => e);
    assert.ok(err instanceof UpstreamApiError && !err.transient, "a refused webhook is not retried");

    await h.settings.write(other, "general", { allowPrivateNetworks: true });
    assert.equal((await h.svc.intake(other, request("O-1", "Механообработка"))).outcome, "ok");

    // Metadata stays refused even with private networks allowed (a value stored before the policy).
    await h.settings.write(other, SETTINGS_SECTION, { webhookUrl: "http://169.254.169.254/rest/1/code/" }, [
      "webhookUrl",
    ]);
    const meta = await h.svc.intake(other, request("O-2", "Механообработка"));
    assert.equal(meta.outcome, "failed");
    assert.match(meta.failure ?? "", /Cannot call 169\.254\.169\.254: .*always refused/);
  } finally {
    await h.close();
  }
});
