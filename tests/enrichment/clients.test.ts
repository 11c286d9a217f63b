import assert from "node:assert/strict";
import { UpstreamApiError, UpstreamHttpError } from "../../lib/errors.ts";
import { DadataClient } from "../../lib/enrichment/dadata_client.ts";
import { YandexGptClient } from "../../lib/enrichment/yandexgpt_client.ts";
import { OPERATOR_POLICY } from "../../lib/http/url_guard.ts";
import { startDadataFake } from "../fakes/dadata.ts";
import { startYandexGptFake } from "../fakes/yandexgpt.ts";

const KEY = "test-dadata-key";
const SECRET = "test-dadata-secret";

// The fakes listen on 127.0.0.1: the operator's policy, as for an env base URL.
const policy = OPERATOR_POLICY;

function dadata(url: string, extra: Partial<ConstructorParameters<typeof DadataClient>[0]> = {}) {
  return new DadataClient({ baseUrl: url, policy, apiKey: KEY, secretKey: SECRET, retry: { baseMs: 1 }, ...extra });
}

Deno.test("DadataClient.cleanPhone() returns the standardized record", async () => {
  const fake = await startDadataFake();
  try {
    const rec = await dadata(fake.url).cleanPhone("раб 846)231.60.14 *139");
    assert.equal(rec.phone, "+7 846 231-60-14 доб. 139");
    assert.equal(rec.qc, 0);
    assert.equal(rec.source, "раб 846)231.60.14 *139");
  } finally {
    await fake.close();
  }
});

Deno.test("DadataClient.cleanEmail() fixes a typo like the doc example", async () => {
  const fake = await startDadataFake();
  try {
    const rec = await dadata(fake.url).cleanEmail("serega@yandex/ru");
    assert.equal(rec.email, "serega@yandex.ru");
    assert.equal(rec.type, "PERSONAL");
    assert.equal(rec.qc, 4);
  } finally {
    await fake.close();
  }
});

Deno.test("DadataClient fails a wrong key at once with a message that names the fix", async () => {
  const fake = await startDadataFake();
  try {
    const err = await assertRejects(dadata(fake.url, { apiKey: "wrong-key-123" }).cleanPhone("89161234567"));
    assert.ok(err instanceof UpstreamApiError);
    assert.match(err.message, /^DaData rejected the API key \(HTTP 403/);
    assert.match(err.message, /check DADATA_API_KEY/);
    assert.ok(!err.message.includes("wrong-key-123"));
    assert.equal(fake.state.calls, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("DadataClient retries 5xx and 429, then succeeds", async () => {
  const fake = await startDadataFake({ faults: { failNext: 2, failNextStatus: 503 } });
  try {
    const retries: number[] = [];
    const rec = await dadata(fake.url, { retry: { baseMs: 1, onRetry: (_e, n) => retries.push(n) } }).cleanPhone(
      "+7 916 123-45-67",
    );
    assert.equal(rec.city_code, "916");
    assert.deepEqual(retries, [1, 2]);
    fake.state.faults.failNext = 1;
    fake.state.faults.failNextStatus = 429;
    await dadata(fake.url).cleanPhone("+7 916 123-45-67");
    assert.equal(fake.state.calls, 5);
  } finally {
    await fake.close();
  }
});

Deno.test("DadataClient gives up on malformed JSON after its retries with a clear error", async () => {
  const fake = await startDadataFake({ faults: { malformedRate: 1 } });
  try {
    const err = await assertRejects(dadata(fake.url, { retry: { retries: 2, baseMs: 1 } }).cleanEmail("a@b.ru"));
    assert.ok(err instanceof UpstreamHttpError);
    assert.match(err.message, /DaData answered HTTP 200 with a body that is not JSON/);
    assert.equal(fake.state.calls, 3);
  } finally {
    await fake.close();
  }
});

Deno.test("DadataClient times out a hanging call", async () => {
  const fake = await startDadataFake({ faults: { hangRate: 1, hangMs: 2000 } });
  try {
    const err = await assertRejects(dadata(fake.url, { retry: { retries: 0 }, timeoutMs: 100 }).cleanEmail("a@b.ru"));
    assert.ok(err instanceof UpstreamHttpError);
    assert.equal(err.message, "DaData did not answer within 100 ms");
  } finally {
    await fake.close();
  }
});

Deno.test("a short timeout started after a longer one ends first: one timer serves deadlines of any length", async () => {
  const fake = await startDadataFake({ faults: { hangRate: 1, hangMs: 2000 } });
  try {
    const ended: string[] = [];
    const call = (name: string, timeoutMs: number) =>
      assertRejects(dadata(fake.url, { retry: { retries: 0 }, timeoutMs }).cleanEmail(`${name}@b.ru`)).then((e) => {
        ended.push(name);
        return e;
      });
    const long = call("long", 1500);
    const short = call("short", 100);
    assert.equal((await short).message, "DaData did not answer within 100 ms");
    assert.equal((await long).message, "DaData did not answer within 1500 ms");
    assert.deepEqual(ended, ["short", "long"]);
  } finally {
    await fake.close();
  }
});

Deno.test("DadataClient without keys refuses before calling", async () => {
  const err = await assertRejects(new DadataClient({ baseUrl: "http://127.0.0.1:1", policy }).cleanPhone("1"));
  assert.ok(err instanceof UpstreamApiError);
  assert.match(err.message, /set DADATA_API_KEY and DADATA_SECRET_KEY/);
});

Deno.test("YandexGptClient.complete() sends the documented request and returns the answer", async () => {
  const fake = await startYandexGptFake();
  try {
    const client = new YandexGptClient({
      baseUrl: fake.url,
      policy,
      apiKey: "test-yandexgpt-key",
      folderId: "b1gfolder",
      systemPrompt: "Отвечай кратко",
      temperature: 0.1,
      maxTokens: 200,
    });
    const res = await client.complete("Привет");
    assert.equal(res.text, "Ответ на: Привет");
    assert.equal(res.status, "ALTERNATIVE_STATUS_FINAL");
    const req = fake.state.requests[0];
    assert.equal(req.modelUri, "gpt://b1gfolder/yandexgpt-lite/latest");
    assert.deepEqual(req.completionOptions, { stream: false, temperature: 0.1, maxTokens: "200" });
    assert.deepEqual(req.messages, [{ role: "system", text: "Отвечай кратко" }, { role: "user", text: "Привет" }]);
  } finally {
    await fake.close();
  }
});

Deno.test("YandexGptClient fails a wrong key at once and retries the 429 gauge", async () => {
  const fake = await startYandexGptFake({ faults: { failNext: 1, failNextStatus: 429 } });
  try {
    const bad = new YandexGptClient({ baseUrl: fake.url, policy, apiKey: "nope-nope", folderId: "f" });
    fake.state.faults.failNext = 0;
    const err = await assertRejects(bad.complete("x"));
    assert.ok(err instanceof UpstreamApiError);
    assert.match(err.message, /^YandexGPT rejected the API key \(HTTP 401/);
    fake.state.faults.failNext = 1;
    const ok = new YandexGptClient({
      baseUrl: fake.url,
      policy,
      apiKey: "test-yandexgpt-key",
      folderId: "f",
      retry: { baseMs: 1 },
    });
    assert.equal((await ok.complete("x")).text, "Ответ на: x");
    assert.equal(fake.state.calls, 3);
  } finally {
    await fake.close();
  }
});

Deno.test("YandexGptClient reports malformed answers as retryable upstream errors", async () => {
  const fake = await startYandexGptFake({ faults: { malformedRate: 1 } });
  try {
    const c = new YandexGptClient({
      baseUrl: fake.url,
      policy,
      apiKey: "test-yandexgpt-key",
      folderId: "f",
      retry: { retries: 1, baseMs: 1 },
    });
    const err = await assertRejects(c.complete("x"));
    assert.ok(err instanceof UpstreamHttpError && err.transient);
    assert.equal(fake.state.calls, 2);
  } finally {
    await fake.close();
  }
});

async function assertRejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

Deno.test("the clients stop retrying before the caller's deadline (the end of its claim)", async () => {
  const dd = await startDadataFake({ faults: { failNext: 5, failNextStatus: 503 } });
  const yg = await startYandexGptFake({ faults: { failNext: 5, failNextStatus: 503 } });
  try {
    const deadline = Date.now() + 200;
    const slow = { retry: { baseMs: 1000, random: () => 1 } };
    await assert.rejects(dadata(dd.url, slow).cleanPhone("+7 916 123-45-67", { deadline }), UpstreamHttpError);
    assert.equal(dd.state.calls, 1);
    const gpt = new YandexGptClient({ baseUrl: yg.url, policy, apiKey: "test-yandexgpt-key", folderId: "f", ...slow });
    await assert.rejects(gpt.complete("hi", { deadline }), UpstreamHttpError);
    assert.equal(yg.state.calls, 1);
  } finally {
    await dd.close();
    await yg.close();
  }
});
