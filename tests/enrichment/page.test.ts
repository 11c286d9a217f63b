import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { startDadataFake } from "../fakes/dadata.ts";

const EMAIL = "owner@example.com";
const PASSWORD = "correct horse battery";

Deno.test("the Enrichment page shows counts, error rates, rows, the live island and failed tasks with re-drive", async () => {
  const dadata = await startDadataFake();
  const t = await startTestHub({
    env: {
      SHLYUZ_ADMIN_EMAIL: EMAIL,
      SHLYUZ_ADMIN_PASSWORD: PASSWORD,
      DADATA_BASE_URL: dadata.url,
      DADATA_API_KEY: "test-dadata-key",
      DADATA_SECRET_KEY: "test-dadata-secret",
    },
  });
  try {
    const anon = await fetch(`${t.url}/admin/enrichment`, { redirect: "manual" });
    await anon.body?.cancel();
    assert.equal(anon.status, 302);
    const ok = await t.api("/api/v1/tasks", {
      method: "POST",
      json: { task_id: 1, task_type: "phone", data: "8 916 123 45 67" },
    });
    await ok.body?.cancel();
    dadata.state.faults.forceStatus = 403;
    const bad = await t.api("/api/v1/tasks", { method: "POST", json: { task_id: 2, task_type: "phone", data: "1" } });
    await bad.body?.cancel();
    const login = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ email: EMAIL, password: PASSWORD, next: "/admin/enrichment" }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const res = await fetch(`${t.url}/admin/enrichment`, { headers: { cookie } });
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.match(
      html,
      /data-type="phone" data-done="1" data-failed="1"><strong>телефон<\/strong>1 выполнено<br\/?><small>1 ошибка · доля ошибок 50,0\s?%/,
    );
    assert.match(html, /data-island="enrichment_live"/);
    assert.match(html, /\+7 916 123-45-67/);
    assert.match(html, /DaData rejected the API key \(HTTP 403/);
    assert.match(html, /\/api\/v1\/dead-letters\/[^/]+\/redrive/);
    assert.match(html, /data-testid="amqp-state" data-state="disabled">не используется/);
    const rowId = /\/admin\/enrichment\/rows\/(\d+)/.exec(html)![1];
    const row = await fetch(`${t.url}/admin/enrichment/rows/${rowId}`, { headers: { cookie } });
    assert.match(await row.text(), /<dt>task_id<\/dt><dd>1<\/dd>/, "the row as key/value lines, not JSON");
  } finally {
    await t.close();
    await dadata.close();
  }
});
