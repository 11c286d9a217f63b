import assert from "node:assert/strict";
import { fromQuery, toQuery } from "../../lib/bitrix/batch.ts";
import { BitrixClient, parseWebhookUrl } from "../../lib/bitrix/client.ts";
import { addTask, countOpenTasks, listDepartments } from "../../lib/bitrix/methods.ts";
import { RateLimiter } from "../../lib/bitrix/rate_limiter.ts";
import { UpstreamApiError, UpstreamHttpError } from "../../lib/errors.ts";
import { OPERATOR_POLICY as policy } from "../../lib/http/url_guard.ts";
import { LeakyBucket, startBitrix24Fake } from "../fakes/bitrix24.ts";
import { VirtualClock } from "../helpers/virtual_clock.ts";

Deno.test("toQuery() encodes nested params the way PHP reads them back", () => {
  const params = {
    filter: { RESPONSIBLE_ID: 5, "<REAL_STATUS": 5 },
    select: ["ID", "TITLE"],
    name: "Сварка & покраска",
  };
  const q = toQuery(params);
  assert.deepEqual(q.includes("filter[%3CREAL_STATUS]=5"), true);
  assert.deepEqual(fromQuery(q), {
    filter: { RESPONSIBLE_ID: "5", "<REAL_STATUS": "5" },
    select: ["ID", "TITLE"],
    name: "Сварка & покраска",
  });
});

Deno.test("parseWebhookUrl() rejects a URL that is not an inbound webhook", () => {
  assert.deepEqual(
    parseWebhookUrl("https://zavod.bitrix24.ru/rest/1/abc123").base,
    "https://zavod.bitrix24.ru/rest/1/abc123/",
  );
  let message = "";
  try {
    parseWebhookUrl("https://zavod.bitrix24.ru/");
  } catch (e) {
    message = (e as Error).message;
  }
  assert.deepEqual(message, "Bitrix24 webhook URL must look like https://PORTAL/rest/USER_ID/CODE/");
});

Deno.test("RateLimiter paces a burst of 300 calls so Bitrix's leaky bucket never rejects one", async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ ratePerSec: 2, burst: 50 }, clock);
  const bucket = new LeakyBucket(2, 50, () => clock.now());
  const start = clock.now();
  let rejected = 0;
  const calls = Array.from({ length: 300 }, async () => {
    await limiter.acquire();
    if (!bucket.offer()) rejected++;
  });
  await clock.run(Promise.all(calls));
  assert.deepEqual(rejected, 0);
  assert.ok(bucket.maxLevel <= 50);
  // 48 usable at once (2 kept in reserve), then one every 500 ms: (300 - 48) / 2 s.
  assert.deepEqual(clock.now() - start, (300 - 48) * 500);
});

Deno.test("RateLimiter refuses a wait that would end after the deadline, without taking a slot", async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ ratePerSec: 1, burst: 1, reserve: 0 }, clock);
  await limiter.acquire();
  await assert.rejects(() => limiter.acquire({ deadline: clock.now() + 500 }), /rate limit queue is 1000 ms long/);
  assert.deepEqual(limiter.stats().granted, 1);
});

Deno.test("listAll() reads page 1 directly and every other page in one batch", async () => {
  const fake = await startBitrix24Fake({ rateLimit: false });
  try {
    for (let i = 0; i < 130; i++) {
      fake.state.departments.push({ ID: String(100 + i), NAME: `Отдел ${i}`, SORT: 500, PARENT: "1" });
    }
    const client = new BitrixClient({ baseUrl: fake.webhookUrl, policy });
    const deps = await listDepartments(client);
    assert.deepEqual(deps.length, 138);
    assert.deepEqual(deps[1], { id: 2, name: "Производство", parent: 1, head: 2 });
    assert.deepEqual(fake.state.calls.map((c) => c.method), ["department.get", "batch"]);
  } finally {
    await fake.close();
  }
});

Deno.test("batch() splits 120 commands into three HTTP requests of at most 50", async () => {
  const fake = await startBitrix24Fake({ rateLimit: false });
  try {
    const client = new BitrixClient({ baseUrl: fake.webhookUrl, policy });
    const ids = Array.from({ length: 120 }, (_, i) => (i % 12) + 1);
    const counts = await countOpenTasks(client, [...new Set(ids)]);
    assert.deepEqual(counts.get(3), 4);
    assert.deepEqual(counts.get(5), 2); // five completed tasks are not open
    const cmds = Object.fromEntries(ids.map((id, i) => [`k${i}`, { method: "user.get", params: { ID: id } }]));
    const res = await client.batch(cmds);
    assert.deepEqual(Object.keys(res.result).length, 120);
    assert.deepEqual(fake.state.calls.filter((c) => c.method === "batch").length, 1 + 3);
  } finally {
    await fake.close();
  }
});

Deno.test("QUERY_LIMIT_EXCEEDED is retried with backoff and never reaches the caller", async () => {
  // The portal is stricter (burst 3) than the client believes (burst 50), like another app sharing the IP.
  const fake = await startBitrix24Fake({ rateLimit: { ratePerSec: 40, burst: 3 } });
  try {
    const client = new BitrixClient({
      baseUrl: fake.webhookUrl,
      policy,
      limits: { ratePerSec: 40, burst: 50 },
      retry: { baseMs: 20, maxMs: 100 },
    });
    const results = await Promise.all(Array.from({ length: 12 }, () => listDepartments(client)));
    assert.deepEqual(results.every((r) => r.length === 8), true);
    assert.ok(fake.state.rejected > 0, "the fake should have rejected some calls");
  } finally {
    await fake.close();
  }
});

Deno.test("OPERATION_TIME_LIMIT on a read is retried until the method is unblocked", async () => {
  const fake = await startBitrix24Fake({ rateLimit: false });
  try {
    fake.state.operationLimited.add("department.get");
    const client = new BitrixClient({
      baseUrl: fake.webhookUrl,
      policy,
      retry: { baseMs: 10, maxMs: 20 },
      onRequest: (m) => {
        if (m === "department.get" && fake.state.calls.length >= 2) fake.state.operationLimited.clear();
      },
    });
    assert.deepEqual((await listDepartments(client)).length, 8);
    assert.deepEqual(fake.state.calls.filter((c) => c.status === 429).length, 2);
  } finally {
    await fake.close();
  }
});

Deno.test("a task write whose answer is lost is not retried (no second task)", async () => {
  const fake = await startBitrix24Fake({ rateLimit: false });
  try {
    fake.state.faults.push({
      method: "tasks.task.add",
      times: 1,
      status: 504,
      error: "",
      description: "",
      afterCommit: true,
    });
    const before = fake.state.tasks.length;
    const client = new BitrixClient({ baseUrl: fake.webhookUrl, policy, retry: { baseMs: 1, maxMs: 2 } });
    const error = await addTask(client, { TITLE: "Сварить раму", RESPONSIBLE_ID: 4 }).catch((e) => e);
    assert.ok(error instanceof UpstreamHttpError);
    assert.deepEqual(fake.state.tasks.length, before + 1);
    assert.deepEqual(fake.state.calls.filter((c) => c.method === "tasks.task.add").length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("a wrong webhook code answers a message that says where to fix it", async () => {
  const fake = await startBitrix24Fake({ rateLimit: false });
  try {
    const client = new BitrixClient({ baseUrl: fake.webhookUrl.replace("testcode", "wrong"), policy });
    const error = await listDepartments(client).catch((e) => e);
    assert.ok(error instanceof UpstreamApiError);
    assert.deepEqual(error.code, "NO_AUTH_FOUND");
    assert.deepEqual(
      error.message,
      "Bitrix24 rejected the webhook (NO_AUTH_FOUND) — check the webhook URL in the 1C → Bitrix24 settings or BITRIX_WEBHOOK",
    );
  } finally {
    await fake.close();
  }
});
