import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";

Deno.test("/ping/, /healthz and /metrics answer without a token", async () => {
  const t = await startTestHub();
  try {
    const ping = await fetch(`${t.url}/ping/`);
    assert.equal(ping.status, 200);
    assert.deepEqual(await ping.json(), { message: "pong" });

    const health = await fetch(`${t.url}/healthz`);
    assert.equal(health.status, 200);
    const h = await health.json();
    assert.equal(h.status, "ok");
    assert.equal(h.kv.ok, true);
    assert.equal(typeof h.queue.backlog, "number");

    // an external call that fails is counted, without naming the host a tenant chose
    await t.hub.fetch("http://127.0.0.1:9/").catch(() => {});
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /shlyuz_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
    assert.match(metrics, /shlyuz_external_errors_total 1/);
    assert.doesNotMatch(metrics, /127\.0\.0\.1:9/);
    assert.match(metrics, /# TYPE shlyuz_queue_in_flight gauge/);
    assert.match(metrics, /shlyuz_queue_backlog \d+/);
  } finally {
    await t.close();
  }
});

Deno.test("/openapi.json describes the API and /docs serves Swagger UI from the hub itself", async () => {
  const t = await startTestHub();
  try {
    const spec = await (await fetch(`${t.url}/openapi.json`)).json();
    assert.equal(spec.openapi, "3.1.0");
    for (const path of ["/api/v1/members", "/api/v1/tokens", "/api/v1/events", "/api/v1/dead-letters/{id}/redrive"]) {
      assert.ok(spec.paths[path], `${path} documented`);
    }
    assert.ok(spec.components.securitySchemes.bearerAuth);
    const docs = await (await fetch(`${t.url}/docs`)).text();
    assert.match(docs, /\/static\/vendor\/swagger-ui-bundle\.js/);
    assert.doesNotMatch(docs, /https?:\/\/(?!127)/, "no CDN");
    const js = await fetch(`${t.url}/static/vendor/swagger-ui-bundle.js`);
    assert.equal(js.status, 200);
    await js.body?.cancel();
    const traversal = await fetch(`${t.url}/static/../deno.json`);
    assert.notEqual(traversal.status, 200);
    await traversal.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("admin pages redirect to login without a session and the setup link works once", async () => {
  const t = await startTestHub({ http: false, owner: false });
  try {
    assert.match(t.setupUrl!, /\/admin\/setup\/[\w-]+$/);
    const path = new URL(t.setupUrl!).pathname;
    const app = t.app;
    const page = await app.request("/admin/members");
    assert.equal(page.status, 302);
    const slash = await app.request("/admin/");
    assert.equal(slash.status, 302, "a trailing slash reaches the same page");
    assert.equal((await app.request(path)).status, 200);
    const bad = await app.request(path, {
      method: "POST",
      body: new URLSearchParams({ org: "ООО Ромашка", email: "not-an-email", password: "0123456789" }),
    });
    assert.equal(bad.status, 422);
    const ok = await app.request(path, {
      method: "POST",
      body: new URLSearchParams({ org: "ООО Ромашка", email: "boss@romashka.ru", password: "0123456789" }),
    });
    assert.equal(ok.status, 303);
    assert.match(ok.headers.get("set-cookie") ?? "", /shlyuz_session=/);
    const again = await app.request(path, {
      method: "POST",
      body: new URLSearchParams({ org: "Evil", email: "evil@x.ru", password: "0123456789" }),
    });
    assert.equal(again.status, 404, "the link works once");
  } finally {
    await t.close();
  }
});
