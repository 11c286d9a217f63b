/**
 * Issue 9: "transient" is decided in one place (lib/errors.ts) and every
 * client follows it — 408, 425, 429 and 5xx are retried, another 4xx is not,
 * and an error nobody classified is not worth retrying.
 */
import assert from "node:assert/strict";
import { DadataClient } from "../../lib/enrichment/dadata_client.ts";
import { YandexGptClient } from "../../lib/enrichment/yandexgpt_client.ts";
import { sendWebhook } from "../../lib/enrichment/webhooks.ts";
import { runHttpAction } from "../../lib/scheduler/http_action.ts";
import { systemClock } from "../../lib/clock.ts";
import { isTransientError, isTransientStatus, UpstreamHttpError } from "../../lib/errors.ts";
import { OPERATOR_POLICY } from "../../lib/http/url_guard.ts";
import { recordingServer } from "../helpers/redirect_world.ts";

type Call = (base: string) => Promise<unknown>;

const retry = { retries: 1, baseMs: 1 };
const CLIENTS: Array<[string, Call]> = [
  [
    "DaData",
    (base) =>
      new DadataClient({ baseUrl: base, policy: OPERATOR_POLICY, apiKey: "k-1234", secretKey: "s-1234", retry })
        .cleanEmail("a@b.ru"),
  ],
  [
    "YandexGPT",
    (base) =>
      new YandexGptClient({ baseUrl: base, policy: OPERATOR_POLICY, apiKey: "k-1234", folderId: "b1g", retry })
        .complete("hi"),
  ],
  [
    "scheduler HTTP action",
    (base) =>
      runHttpAction({ method: "GET", url: base, headers: {} }, {
        fetch: globalThis.fetch,
        clock: systemClock,
        timeoutMs: 5000,
        retry: { attempts: 1, backoffMs: 1 },
        policy: OPERATOR_POLICY,
        responseLimit: 100,
      }),
  ],
];

Deno.test("isTransientStatus/isTransientError: 408, 425, 429, 5xx and network errors are transient; other 4xx and unknown errors are not", () => {
  for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal(isTransientStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 409, 410, 422]) assert.equal(isTransientStatus(s), false, String(s));
  assert.equal(isTransientError(new UpstreamHttpError("unreachable", { service: "X" })), true, "network");
  assert.equal(isTransientError(new UpstreamHttpError("x", { service: "X", status: 408 })), true);
  assert.equal(isTransientError(new UpstreamHttpError("x", { service: "X", status: 404 })), false);
  assert.equal(isTransientError(new Error("a bug")), false, "an unknown error is not retried");
  assert.equal(isTransientError("thrown string"), false);
});

for (const [name, call] of CLIENTS) {
  Deno.test(`${name} retries 408, 425, 429 and 503, and not 400 or 404`, async () => {
    let status = 0;
    const server = recordingServer(() => new Response('{"message":"no"}', { status }));
    try {
      for (const s of [408, 425, 429, 503, 400, 404]) {
        status = s;
        const before = server.seen.length;
        await call(`http://127.0.0.1:${server.port}`).catch(() => {});
        assert.equal(server.seen.length - before, isTransientStatus(s) ? 2 : 1, `HTTP ${s}`);
      }
    } finally {
      await server.close();
    }
  });
}

Deno.test("the result webhook: 408 and 425 are transient failures (the queue retries them), 400 is a refusal", async () => {
  let status = 0;
  const server = recordingServer(() => new Response(null, { status }));
  try {
    for (const s of [408, 425, 429, 500, 400, 410]) {
      status = s;
      const err = await sendWebhook(`http://127.0.0.1:${server.port}/hook`, {
        secret: "s",
        payload: {},
        policy: OPERATOR_POLICY,
      }).then(() => null, (e) => e);
      assert.ok(err, `HTTP ${s} fails`);
      assert.equal(isTransientError(err), isTransientStatus(s), `HTTP ${s}`);
    }
  } finally {
    await server.close();
  }
});
