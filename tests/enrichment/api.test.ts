import assert from "node:assert/strict";
import { eventually, startTestHub } from "../helpers/hub.ts";
import { startDadataFake } from "../fakes/dadata.ts";
import { startYandexGptFake } from "../fakes/yandexgpt.ts";

async function setup(env: Record<string, string> = {}) {
  const dadata = await startDadataFake();
  const gpt = await startYandexGptFake();
  const t = await startTestHub({
    env: {
      DADATA_BASE_URL: dadata.url,
      DADATA_API_KEY: "test-dadata-key",
      DADATA_SECRET_KEY: "test-dadata-secret",
      YANDEXGPT_BASE_URL: gpt.url,
      YANDEXGPT_API_KEY: "test-yandexgpt-key",
      YANDEXGPT_FOLDER_ID: "b1gtest",
      ENRICH_RETRIES: "1",
      ENRICH_TIMEOUT_MS: "2000",
      ...env,
    },
  });
  return {
    ...t,
    dadata,
    gpt,
    async stop() {
      await t.close();
      await dadata.close();
      await gpt.close();
    },
  };
}

Deno.test("POST /api/v1/tasks answers {task_id, id} for phone, email and gpt, and a repeat gets the same id", async () => {
  const t = await setup();
  try {
    const tasks = [
      { task_id: 1, task_type: "phone", data: "раб 846)231.60.14 *139" },
      { task_id: 2, task_type: "email", data: "serega@yandex/ru" },
      { task_id: 3, task_type: "gpt", data: "Скажи привет" },
    ];
    const ids: number[] = [];
    for (const task of tasks) {
      const res = await t.api("/api/v1/tasks", { method: "POST", json: task });
      const body = await res.json();
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(body).sort(), ["id", "task_id"]);
      assert.equal(body.task_id, task.task_id);
      ids.push(body.id);
    }
    const again = await t.api("/api/v1/tasks", { method: "POST", json: tasks[0] });
    assert.deepEqual(await again.json(), { task_id: 1, id: ids[0] });
    assert.equal(t.dadata.state.calls, 2);
    assert.equal(t.gpt.state.calls, 1);
    const row = await (await t.api(`/api/v1/rows/${ids[0]}`)).json();
    assert.equal(row.data.phone, "+7 846 231-60-14 доб. 139");
    const gptRow = await (await t.api(`/api/v1/rows/${ids[2]}`)).json();
    assert.equal(gptRow.data, "Ответ на: Скажи привет");
    const list = await (await t.api("/api/v1/rows?type=email")).json();
    assert.deepEqual(list.items.map((r: { task_id: number }) => r.task_id), [2]);
    const results = await eventually(async () => {
      const r = await (await t.api("/api/v1/results")).json();
      return r.items.length === 3 ? r : null;
    });
    assert.deepEqual(results.items.map((r: { task_id: number }) => r.task_id).sort(), [1, 2, 3]);
    assert.equal((await (await t.api(`/api/v1/results?after=${results.cursor}`)).json()).items.length, 0);
    const missing = await t.api("/api/v1/rows/999999");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await t.stop();
  }
});

Deno.test("POST /api/v1/tasks rejects bad input with 422 naming the field", async () => {
  const t = await setup();
  try {
    const cases: Array<[unknown, string, string]> = [
      [{ task_type: "phone", data: "1" }, "task_id", "must be an integer"],
      [{ task_id: 1.5, task_type: "phone", data: "1" }, "task_id", "must be an integer"],
      [{ task_id: "1", task_type: "phone", data: "1" }, "task_id", "must be an integer"],
      [{ task_id: 1, task_type: "fax", data: "1" }, "task_type", 'must be one of "phone", "email", "gpt"'],
      [{ task_id: 1, task_type: "phone", data: "" }, "data", "must not be empty"],
      [{ task_id: 1, task_type: "phone", data: "x".repeat(4001) }, "data", "must be at most 4000 characters"],
      [{ task_id: 1, task_type: "phone", data: 5 }, "data", "must be a string"],
      [{ task_id: 1, task_type: "phone", data: "1", extra: true }, "extra", "is not a known field"],
    ];
    for (const [body, field, message] of cases) {
      const res = await t.api("/api/v1/tasks", { method: "POST", json: body });
      const err = await res.json();
      assert.equal(res.status, 422, JSON.stringify(body));
      const issue = err.error.details.find((d: { field: string }) => d.field === field);
      assert.ok(issue, `${field} named for ${JSON.stringify(body)}: ${JSON.stringify(err)}`);
      assert.ok(issue.message.startsWith(message), issue.message);
    }
    assert.equal(t.dadata.state.calls, 0);
  } finally {
    await t.stop();
  }
});

Deno.test("POST /api/v1/tasks answers a body that is not a JSON task as every API route does: 415, 400, 422", async () => {
  const t = await setup();
  try {
    const post = async (body: string | undefined, type?: string) => {
      const res = await t.api("/api/v1/tasks", {
        method: "POST",
        // Bytes, so that fetch adds no content-type of its own (a string would be text/plain).
        body: body === undefined ? undefined : new TextEncoder().encode(body),
        headers: type ? { "content-type": type } : {},
      });
      return { status: res.status, body: await res.json() };
    };
    assert.deepEqual(await post("task_id=1", "text/plain"), {
      status: 415,
      body: { error: { code: "http_error", message: "Unsupported Media Type" } },
    });
    assert.deepEqual(await post('{"task_id": 1,', "application/json"), {
      status: 400,
      body: { error: { code: "invalid_json", message: "Cannot parse the request body: it is not valid JSON" } },
    });
    assert.equal((await post("[1]", "application/json")).status, 422);
    assert.equal((await post('{"task_id":1}', undefined)).status, 415, "a body without a media type");
    const empty = await post(undefined, undefined);
    assert.equal(empty.status, 422, "no body at all is a task with no fields");
    assert.match(empty.body.error.message, /task_id/);
    const typed = await post(
      '{"task_id": 7, "task_type": "phone", "data": "+7 916 000"}',
      "application/json; charset=utf-8",
    );
    assert.equal(typed.status, 200, JSON.stringify(typed.body));
    const doc = await (await t.api("/openapi.json")).json();
    const op = doc.paths["/api/v1/tasks"].post;
    assert.deepEqual(Object.keys(op.responses).sort(), ["200", "202", "400", "401", "403", "409", "422", "502", "503"]);
    assert.deepEqual(op.requestBody.content["application/json"].schema.required, ["task_id", "task_type", "data"]);
    assert.equal(t.dadata.state.calls, 1);
  } finally {
    await t.stop();
  }
});

Deno.test("POST /api/v1/tasks: 409 for a reused task_id, 502 with a readable message for a rejected key, 403 for a viewer", async () => {
  const t = await setup({ DADATA_API_KEY: "revoked-key" });
  try {
    const res = await t.api("/api/v1/tasks", { method: "POST", json: { task_id: 5, task_type: "gpt", data: "a" } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const conflict = await t.api("/api/v1/tasks", {
      method: "POST",
      json: { task_id: 5, task_type: "gpt", data: "b" },
    });
    assert.equal(conflict.status, 409);
    assert.match((await conflict.json()).error.message, /already used with a different task_type or data/);
    const rejected = await t.api("/api/v1/tasks", {
      method: "POST",
      json: { task_id: 6, task_type: "phone", data: "1" },
    });
    const body = await rejected.json();
    assert.equal(rejected.status, 502);
    assert.match(body.error.message, /^DaData rejected the API key \(HTTP 403/);
    assert.ok(!JSON.stringify(body).includes("revoked-key"));
    const viewer = await t.tokenFor("viewer");
    const denied = await t.api("/api/v1/tasks", {
      method: "POST",
      token: viewer,
      json: { task_id: 7, task_type: "gpt", data: "a" },
    });
    assert.equal(denied.status, 403);
    await denied.body?.cancel();
  } finally {
    await t.stop();
  }
});

Deno.test("Prefer: respond-async answers 202 and the batch endpoint queues; results arrive on the result log once", async () => {
  const t = await setup();
  try {
    const seen: string[] = [];
    t.hub.events.subscribe(t.org, (e) => seen.push(e.type));
    const res = await t.api("/api/v1/tasks", {
      method: "POST",
      headers: { prefer: "respond-async" },
      json: { task_id: 10, task_type: "email", data: "info@shop.ru" },
    });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { task_id: 10, status: "accepted" });
    const tasks = Array.from(
      { length: 300 },
      (_, i) => ({ task_id: 100 + i, task_type: "phone", data: `+7 916 000-${i}` }),
    );
    tasks.push({ task_id: 10, task_type: "email", data: "info@shop.ru" });
    const batch = await t.api("/api/v1/tasks/batch", { method: "POST", json: { tasks } });
    assert.equal(batch.status, 202);
    assert.equal((await batch.json()).queued, 301);
    const all = await eventually(async () => {
      const r = await (await t.api("/api/v1/results?limit=1000")).json();
      return r.items.length >= 301 ? r.items : null;
    }, { timeoutMs: 15_000 });
    assert.equal(all.length, 301);
    assert.equal(new Set(all.map((r: { task_id: number }) => r.task_id)).size, 301);
    assert.equal(t.dadata.state.calls, 301);
    assert.ok(seen.includes("task.done"));
    const bad = await t.api("/api/v1/tasks/batch", {
      method: "POST",
      json: { tasks: [{ task_id: 1, task_type: "x", data: "" }] },
    });
    assert.equal(bad.status, 422);
    assert.match((await bad.json()).error.message, /tasks\.0\.task_type/);
    const status = await (await t.api("/api/v1/enrichment/status")).json();
    assert.equal(status.sink, "kv");
    assert.equal(status.amqp.state, "disabled");
    assert.equal(status.stats.phone.done, 300);
  } finally {
    await t.stop();
  }
});

Deno.test("copies of a task sent at the same moment by REST and by queue get one row and one DaData call", async () => {
  const t = await setup();
  t.dadata.state.faults.latencyMs = 50;
  try {
    const tasks = Array.from(
      { length: 25 },
      (_, i) => ({ task_id: 500 + i, task_type: "email", data: `u${i}@mail.ru` }),
    );
    const rest = tasks.flatMap((task) =>
      [0, 1].map(() => t.api("/api/v1/tasks", { method: "POST", json: task }).then((r) => r.json()))
    );
    const queued = t.api("/api/v1/tasks/batch", { method: "POST", json: { tasks } }).then((r) => r.json());
    const asyncOne = t.api("/api/v1/tasks", { method: "POST", headers: { prefer: "respond-async" }, json: tasks[0] })
      .then((r) => r.json());
    const answers = await Promise.all(rest);
    await queued;
    await asyncOne;
    await eventually(async () => (await t.hub.queue.backlog()) === 0, { timeoutMs: 10_000 });
    for (const task of tasks) {
      const ids = new Set(answers.filter((a) => a.task_id === task.task_id).map((a) => a.id));
      assert.equal(ids.size, 1, `one id for task ${task.task_id}`);
    }
    assert.equal(t.dadata.state.calls, 25);
    const rows = await (await t.api("/api/v1/rows?limit=500")).json();
    assert.equal(rows.items.length, 25);
    const results = await (await t.api("/api/v1/results?limit=1000")).json();
    assert.equal(results.items.length, 25);
  } finally {
    await t.stop();
  }
});

Deno.test("the task and row endpoints authenticate once per request: 401 without a token, 403 below operator", async () => {
  const t = await setup();
  try {
    const kv = t.hub.kv;
    const get = kv.get.bind(kv);
    let tokenReads = 0;
    kv.get = ((key: Deno.KvKey, opts?: { consistency?: Deno.KvConsistencyLevel }) => {
      if (key[0] === "token_hash") tokenReads++;
      return get(key, opts);
    }) as typeof kv.get;
    const task = { task_id: 900, task_type: "phone", data: "+7 916 123-45-67" };
    const ok = await t.api("/api/v1/tasks", { method: "POST", json: task });
    assert.equal(ok.status, 200);
    const { id } = await ok.json();
    assert.equal(tokenReads, 1, "one token lookup for POST /tasks");
    const row = await t.api(`/api/v1/rows/${id}`);
    assert.equal(row.status, 200);
    await row.body?.cancel();
    assert.equal(tokenReads, 2, "one token lookup for GET /rows/:id");
    kv.get = get;

    const viewer = await t.tokenFor("viewer");
    for (
      const [path, init, token, status] of [
        ["/api/v1/tasks", { method: "POST", json: task }, null, 401],
        ["/api/v1/tasks", { method: "POST", json: task }, viewer, 403],
        ["/api/v1/tasks/batch", { method: "POST", json: { tasks: [task] } }, viewer, 403],
        ["/api/v1/rows", {}, null, 401],
        [`/api/v1/rows/${id}`, {}, null, 401],
        ["/api/v1/rows", {}, viewer, 200],
        ["/api/v1/results", {}, null, 401],
      ] as const
    ) {
      const res = await t.api(path, { ...init, token });
      assert.equal(res.status, status, `${init.method ?? "GET"} ${path} as ${token ? "viewer" : "nobody"}`);
      await res.body?.cancel();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("an organization that sets its own base URL gets none of the env credentials for that service", async () => {
  const t = await setup();
  // The organization's own servers, with keys of their own.
  const orgDadata = await startDadataFake({ apiKey: "org-dadata-key", secretKey: "org-dadata-secret" });
  const orgGpt = await startYandexGptFake({ apiKey: "org-gpt-key" });
  const put = async (section: string, json: Record<string, unknown>) => {
    const res = await t.api(`/api/v1/enrichment/settings/${section}`, { method: "PUT", json });
    assert.equal(res.status, 200, await res.text());
  };
  const task = async (task_id: number, task_type: string) => {
    const res = await t.api("/api/v1/tasks", { method: "POST", json: { task_id, task_type, data: "8 800 555 35 35" } });
    return { status: res.status, body: await res.json() };
  };
  const envSecrets = ["test-dadata-key", "test-dadata-secret", "test-yandexgpt-key", "b1gtest"];
  const leaked = (all: Headers[]) =>
    all.flatMap((h) => [...h.values()]).filter((v) => envSecrets.some((s) => v.includes(s)));
  try {
    // The organization's servers are on 127.0.0.1: it has to allow private networks.
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    await put("dadata", { baseUrl: orgDadata.url });
    const dd = await task(1, "phone");
    assert.equal(dd.status, 502);
    assert.match(dd.body.error.message, /DaData is not configured for this organization.*apiKey and secretKey/);
    await put("yandexgpt", { baseUrl: orgGpt.url });
    const yg = await task(2, "gpt");
    assert.equal(yg.status, 502);
    assert.match(yg.body.error.message, /YandexGPT is not configured for this organization.*apiKey/);
    await put("yandexgpt", { apiKey: "org-gpt-key" });
    const noFolder = await task(3, "gpt");
    assert.equal(noFolder.status, 502, "the env folder id is not used either");
    assert.match(noFolder.body.error.message, /set folderId in the organization's YandexGPT settings/);

    // With the organization's own keys the calls go through, carrying those keys only.
    await put("dadata", { apiKey: "org-dadata-key", secretKey: "org-dadata-secret" });
    await put("yandexgpt", { folderId: "b1gorg" });
    assert.equal((await task(4, "phone")).status, 200);
    assert.equal((await task(5, "gpt")).status, 200);
    assert.equal(orgDadata.state.headers[0].get("authorization"), "Token org-dadata-key");
    assert.equal(orgGpt.state.headers[0].get("authorization"), "Api-Key org-gpt-key");
    assert.deepEqual(leaked([...orgDadata.state.headers, ...orgGpt.state.headers]), []);
    assert.equal(t.dadata.state.calls + t.gpt.state.calls, 0);
  } finally {
    await t.stop();
    await orgDadata.close();
    await orgGpt.close();
  }
});

Deno.test("moving a service's base URL to another origin needs its stored secrets sent again", async () => {
  const t = await setup();
  const put = async (section: string, json: Record<string, unknown>) => {
    const res = await t.api(`/api/v1/enrichment/settings/${section}`, { method: "PUT", json });
    return { status: res.status, body: await res.json() };
  };
  const fields = (b: { error: { details: Array<{ field: string }> } }) => b.error.details.map((d) => d.field).sort();
  try {
    assert.equal(
      (await put("dadata", { apiKey: "k1", secretKey: "s1", baseUrl: "https://a.example.com" })).status,
      200,
    );
    const moved = await put("dadata", { baseUrl: "https://b.example.com" });
    assert.equal(moved.status, 422);
    assert.deepEqual(fields(moved.body), ["apiKey", "secretKey"]);
    const port = await put("dadata", { baseUrl: "https://a.example.com:8443", secretKey: "s2" });
    assert.equal(port.status, 422, "another port is another origin");
    assert.deepEqual(fields(port.body), ["apiKey"]);
    assert.equal((await put("dadata", { baseUrl: "https://a.example.com/v2" })).status, 200, "same origin");
    const resent = await put("dadata", { baseUrl: "https://b.example.com", apiKey: "k2", secretKey: "s2" });
    assert.equal(resent.status, 200);
    // Clearing the base URL returns to the env URL: another origin as well.
    assert.equal((await put("dadata", { baseUrl: "" })).status, 422);

    // A key stored while the base URL was the env default.
    assert.equal((await put("yandexgpt", { apiKey: "g1" })).status, 200);
    const gpt = await put("yandexgpt", { baseUrl: "https://llm.example.org" });
    assert.equal(gpt.status, 422);
    assert.deepEqual(fields(gpt.body), ["apiKey"]);
    assert.match(gpt.body.error.message, /apiKey/);
    const masked = await (await t.api("/api/v1/enrichment/settings")).json();
    assert.equal(masked.yandexgpt.baseUrl, undefined, "nothing was written");
  } finally {
    await t.stop();
  }
});
