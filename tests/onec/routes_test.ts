import assert from "node:assert/strict";
import { eventually, startTestHub, type TestHub } from "../helpers/hub.ts";
import { startBitrix24Fake } from "../fakes/bitrix24.ts";
import { sampleRequest } from "../../lib/onec/request_schema.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { createOrg } from "../../lib/accounts/store.ts";
import { createToken, OPERATOR_BINDING } from "../../lib/accounts/tokens.ts";
import { MAX_BUDGET_MS } from "../../lib/onec/settings.ts";
import { TestClock } from "../helpers/onec.ts";

async function start() {
  const clock = new TestClock();
  const fake = await startBitrix24Fake({ now: () => clock.now() });
  const t = await startTestHub({
    env: {
      BITRIX_WEBHOOK: fake.webhookUrl,
      SHLYUZ_ADMIN_EMAIL: "owner@example.com",
      SHLYUZ_ADMIN_PASSWORD: "correct horse battery",
    },
    clock,
  });
  return {
    t,
    fake,
    close: async () => {
      await t.close();
      await fake.close();
    },
  };
}

async function post(t: TestHub, path: string, body: unknown, token?: string | null) {
  const res = await t.api(path, { method: "POST", json: body, token });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", text, json: () => JSON.parse(text) };
}

Deno.test("POST / answers {message: ok} and a re-send to /api/v1/onec/tasks updates the same tasks", async () => {
  const { t, fake, close } = await start();
  try {
    const operator = await t.tokenFor("operator");
    const first = await post(t, "/", sampleRequest, operator);
    assert.equal(first.status, 200);
    assert.deepEqual(first.json(), { message: "ok" });
    const count = fake.state.tasks.length;
    const again = await post(t, "/api/v1/onec/tasks", sampleRequest, operator);
    assert.deepEqual(again.json(), { message: "ok" });
    assert.equal(fake.state.tasks.length, count);
    const log = await (await t.api("/api/v1/onec/log")).json();
    assert.equal(log.items.length, 2);
    assert.deepEqual(log.items[0].tasks.map((x: { op: string }) => x.op), ["updated", "updated"]);
    const events = await t.hub.events.recent(t.org, { types: ["onec.*"] });
    assert.deepEqual(events.map((e) => e.type).sort(), [
      "onec.request.logged",
      "onec.request.logged",
      "onec.task.created",
      "onec.task.created",
      "onec.task.updated",
      "onec.task.updated",
    ]);
  } finally {
    await close();
  }
});

Deno.test("POST / with a wrong body answers 422 naming each bad field", async () => {
  const { t, close } = await start();
  try {
    const res = await post(t, "/", {
      tasks: [{ id: "1", calculation: "Сварка", author: { name: "И" }, deadline: "вчера" }],
    });
    assert.equal(res.status, 422);
    const fields = res.json().error.details.map((d: { field: string }) => d.field);
    assert.deepEqual(fields.sort(), ["tasks.0.deadline", "tasks.0.title"]);
  } finally {
    await close();
  }
});

Deno.test("POST / rejects control characters with a 422 naming the field and creates nothing", async () => {
  const { t, fake, close } = await start();
  try {
    const tasks = fake.state.tasks.length;
    const res = await post(t, "/", {
      tasks: [{ ...sampleRequest.tasks[1], title: "Покрасить\u0000раму", description: "Строка 1\r\n\tСтрока 2" }],
    });
    assert.equal(res.status, 422);
    assert.deepEqual(res.json().error.details.map((d: { field: string }) => d.field), ["tasks.0.title"]);
    assert.match(res.text, /control characters \(U\+0000 at position 10\)/);
    assert.equal(fake.state.tasks.length, tasks);
  } finally {
    await close();
  }
});

Deno.test("POST / needs an operator token: 401 without, 403 for a viewer", async () => {
  const { t, close } = await start();
  try {
    assert.equal((await post(t, "/", sampleRequest, null)).status, 401);
    assert.equal((await post(t, "/", sampleRequest, await t.tokenFor("viewer"))).status, 403);
  } finally {
    await close();
  }
});

Deno.test("a failed update answers the contract message; a failed create answers 500 text with the request id", async () => {
  const { t, fake, close } = await start();
  try {
    await post(t, "/", sampleRequest);
    fake.state.tasks = fake.state.tasks.filter((x) => x.groupId !== 31);
    const upd = await post(t, "/", sampleRequest);
    assert.equal(upd.status, 200);
    assert.deepEqual(upd.json(), { message: "При обновлении задачи произошла ошибка" });

    fake.state.faults.push({
      method: "tasks.task.add",
      times: 1,
      status: 400,
      error: "ERROR_CORE",
      description: "Responsible user not found<br>",
    });
    const res = await t.api("/", {
      method: "POST",
      json: { tasks: [{ ...sampleRequest.tasks[1], id: "new-1" }] },
      headers: { "x-request-id": "req-500" },
    });
    const text = await res.text();
    assert.equal(res.status, 500);
    assert.match(res.headers.get("content-type")!, /^text\/plain/);
    assert.match(
      text,
      /^Не удалось создать задачу «Покрасить раму РМ-12, RAL 7035» \(1С: new-1\): Bitrix24 tasks\.task\.add failed: ERROR_CORE — Responsible user not found\n/,
    );
    assert.match(text, /Идентификатор запроса: req-500$/);
  } finally {
    await close();
  }
});

Deno.test("settings keep the webhook sealed; cache refresh, load board and the queue job work", async () => {
  const { t, fake, close } = await start();
  try {
    // The fake portal is on 127.0.0.1: the organization has to allow private networks.
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    const put = await t.api("/api/v1/onec/settings", {
      method: "PUT",
      json: { webhookUrl: fake.webhookUrl, ratePerSec: 5, burst: 250 },
    });
    assert.equal(put.status, 200);
    const s = await put.json();
    assert.equal(s.webhookUrl, fake.webhookUrl.replace("testcode", "••••"));
    assert.equal(s.burst, 250);
    const raw = await t.hub.kv.get<Record<string, unknown>>(["settings", t.org, "bitrix"]);
    assert.ok(!JSON.stringify(raw.value).includes("testcode"));
    const bad = await t.api("/api/v1/onec/settings", { method: "PUT", json: { webhookUrl: "https://x.example/" } });
    assert.equal(bad.status, 422);
    await bad.body?.cancel();

    const refreshed = await (await t.api("/api/v1/onec/cache/refresh", { method: "POST" })).json();
    assert.equal(refreshed.refreshed.length, 10);
    const board = await (await t.api("/api/v1/onec/load")).json();
    const welding = board.sections.find((x: { name: string }) => x.name === "Сварочный участок");
    assert.deepEqual(welding.people.map((p: { openTasks: number }) => p.openTasks), [4, 2, 2]);

    await t.hub.kv.delete(["cache", "bitrix", t.org, "departments"]);
    await t.hub.queue.enqueue("bitrix.cache.refresh", {}, { org: t.org });
    await eventually(async () => (await t.hub.kv.get(["cache", "bitrix", t.org, "departments"])).value);
  } finally {
    await close();
  }
});

Deno.test("the 1C → Bitrix24 page shows the log, the load board and the cache", async () => {
  const { t, close } = await start();
  try {
    await post(t, "/", sampleRequest);
    const login = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "owner@example.com", password: "correct horse battery", next: "/admin/onec" }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const page = await fetch(`${t.url}/admin/onec`, { headers: { cookie } });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /Сварить раму РМ-12/);
    assert.match(html, /data-island="onec_load_board"/);
    assert.match(html, /Ёлкина Ольга/);
    assert.match(html, /departments/);
    assert.ok(!html.includes("testcode"));
  } finally {
    await close();
  }
});

Deno.test("PUT /onec/settings answers 422 for a time budget the per-task claim could not cover", async () => {
  const { t, close } = await start();
  try {
    const tooBig = await t.api("/api/v1/onec/settings", { method: "PUT", json: { budgetMs: MAX_BUDGET_MS + 1 } });
    assert.equal(tooBig.status, 422);
    const body = await tooBig.json();
    assert.deepEqual(body.error.details.map((d: { field: string }) => d.field), ["budgetMs"]);
    const shortGrace = await t.api("/api/v1/onec/settings", { method: "PUT", json: { reconcileGraceMs: 30_000 } });
    assert.equal(shortGrace.status, 422); // must outlast Bitrix24's 60 s request limit
    await shortGrace.body?.cancel();
    const ok = await t.api("/api/v1/onec/settings", { method: "PUT", json: { budgetMs: MAX_BUDGET_MS } });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).budgetMs, MAX_BUDGET_MS);
  } finally {
    await close();
  }
});

Deno.test("a second organization does not get the operator's BITRIX_WEBHOOK: 1C gets the not-configured text", async () => {
  const { t, fake, close } = await start();
  try {
    const other = await createOrg(t.hub.kv, "Другая фирма", { actor: SYSTEM_ACTOR });
    const token = (await createToken(t.hub.kv, other.id, { name: "1c", role: "operator" }, {
      actor: SYSTEM_ACTOR,
      boundTo: OPERATOR_BINDING,
    }))
      .value;
    const tasks = fake.state.tasks.length;
    const res = await post(t, "/", sampleRequest, token);
    assert.equal(res.status, 500);
    assert.match(res.text, /^Bitrix24 is not configured for this organization: set its inbound webhook/);
    assert.equal(fake.state.tasks.length, tasks);
    const s = await (await t.api("/api/v1/onec/settings", { token })).json();
    assert.equal(s.webhookUrl, null);
    // The bootstrap organization keeps using it.
    assert.equal((await post(t, "/", sampleRequest, await t.tokenFor("operator"))).status, 200);
  } finally {
    await close();
  }
});
