/**
 * Issue 9: every client that takes an organization's URL — DaData, YandexGPT,
 * Bitrix24, the result webhook and the scheduler's HTTP action — goes through
 * the guarded fetch: a 307 to a refused address is refused (the refused
 * target sees nothing, and nothing retries it), a base URL that redirects to
 * another origin never carries the client's secret headers there, and
 * redirect chains are bounded.
 */
import assert from "node:assert/strict";
import { DadataClient } from "../../lib/enrichment/dadata_client.ts";
import { YandexGptClient } from "../../lib/enrichment/yandexgpt_client.ts";
import { BitrixClient } from "../../lib/bitrix/client.ts";
import { sendWebhook } from "../../lib/enrichment/webhooks.ts";
import { runHttpAction } from "../../lib/scheduler/http_action.ts";
import { systemClock } from "../../lib/clock.ts";
import { UpstreamApiError } from "../../lib/errors.ts";
import type { AddressPolicy } from "../../lib/http/url_guard.ts";
import { recordingServer, redirectWorld } from "../helpers/redirect_world.ts";

type FetchFn = typeof globalThis.fetch;

interface Client {
  name: string;
  /** Header names (lower case) the client sends that must never reach another origin. */
  secrets: string[];
  /** Calls `base` once; resolves to the error it failed with (or the scheduler's failure reason). */
  call(base: string, policy: AddressPolicy, fetch: FetchFn): Promise<{ code?: string; message: string }>;
}

/** Runs `fn`, which must fail, and reports how. */
async function failure(fn: () => Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    return { code: e instanceof UpstreamApiError ? e.code : undefined, message: String((e as Error).message) };
  }
  return { message: "(succeeded)" };
}

const CLIENTS: Client[] = [
  {
    name: "DaData",
    secrets: ["authorization", "x-secret"],
    call: (base, policy, fetch) =>
      failure(() =>
        new DadataClient({
          baseUrl: base,
          policy,
          fetch,
          apiKey: "dadata-api-key",
          secretKey: "dadata-secret-key",
          retry: { retries: 2, baseMs: 1 },
        }).cleanPhone("+7 999 000-00-00")
      ),
  },
  {
    name: "YandexGPT",
    secrets: ["authorization"],
    call: (base, policy, fetch) =>
      failure(() =>
        new YandexGptClient({
          baseUrl: base,
          policy,
          fetch,
          apiKey: "AQVN-yandex-api-key",
          folderId: "b1gfolder",
          retry: { retries: 2, baseMs: 1 },
        }).complete("hello")
      ),
  },
  {
    name: "Bitrix24",
    secrets: [], // the webhook's secret is its URL path, which a hop to another origin does not carry
    call: (base, policy, fetch) =>
      failure(() =>
        new BitrixClient({ baseUrl: `${base}/rest/1/webhook-code/`, policy, fetch, retry: { baseMs: 1, maxMs: 2 } })
          .call("user.current", {}, { deadline: Date.now() + 2000 })
      ),
  },
  {
    name: "result webhook",
    secrets: ["x-shlyuz-signature"],
    call: (base, policy, fetch) =>
      failure(() => sendWebhook(`${base}/hook`, { secret: "whsec-1", payload: { results: [] }, policy, fetch })),
  },
  {
    name: "scheduler HTTP action",
    secrets: ["x-api-key", "x-custom-token"],
    call: async (base, policy, fetch) => {
      const r = await runHttpAction(
        { method: "POST", url: `${base}/run`, headers: { "X-Api-Key": "k-1", "X-Custom-Token": "t-1" }, body: "{}" },
        {
          fetch,
          clock: systemClock,
          timeoutMs: 5000,
          retry: { attempts: 2, backoffMs: 1 },
          policy,
          responseLimit: 1000,
        },
      );
      if (r.outcome === "ok") return { message: "(succeeded)" };
      return { code: /redirect/i.test(r.reason ?? "") ? "redirect" : undefined, message: r.reason ?? "" };
    },
  },
];

for (const client of CLIENTS) {
  Deno.test(`${client.name}: a 307 to a refused address is refused once, and the refused address sees nothing`, async () => {
    const internal = recordingServer(() => new Response("secret inside"));
    const hop = recordingServer(() => Response.redirect(`http://127.0.0.1:${internal.port}/internal`, 307));
    try {
      const { policy, fetch } = redirectWorld({ "allowed.test": hop.port });
      const out = await client.call("http://allowed.test", policy, fetch);
      assert.match(out.message, /redirected to a refused address/, JSON.stringify(out));
      assert.equal(internal.seen.length, 0, "the request never reached the refused address");
      assert.equal(hop.seen.length, 1, "a refusal is not retried");
    } finally {
      await internal.close();
      await hop.close();
    }
  });

  Deno.test(`${client.name}: a redirect to another origin never carries the secret headers there`, async () => {
    const other = recordingServer(() => new Response("not what you expected", { status: 404 }));
    const base = recordingServer(() => Response.redirect("http://other.test/landed", 307));
    try {
      const { policy, fetch } = redirectWorld({ "allowed.test": base.port, "other.test": other.port });
      await client.call("http://allowed.test", policy, fetch);
      assert.ok(other.seen.length >= 1, "the hop was followed");
      for (const name of client.secrets) {
        assert.ok(base.seen[0].headers.get(name), `${name} was sent to the organization's own URL`);
        for (const s of other.seen) assert.equal(s.headers.get(name), null, `${name} reached the other origin`);
      }
      for (const s of other.seen) {
        assert.doesNotMatch(s.path, /webhook-code/);
        assert.equal(s.headers.get("authorization"), null);
      }
    } finally {
      await other.close();
      await base.close();
    }
  });

  Deno.test(`${client.name}: an endless redirect chain stops after five hops and is not retried`, async () => {
    const chain = recordingServer((req) => Response.redirect(`http://allowed.test${new URL(req.url).pathname}x`, 302));
    try {
      const { policy, fetch } = redirectWorld({ "allowed.test": chain.port });
      const out = await client.call("http://allowed.test", policy, fetch);
      assert.match(out.message, /redirected more than 5 times/, JSON.stringify(out));
      assert.equal(chain.seen.length, 6, "the first request and five hops, once");
    } finally {
      await chain.close();
    }
  });
}

/** Every .ts/.tsx file under `dir`, with its text. */
async function* sources(dir: string): AsyncGenerator<[string, string]> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (/\.tsx?$/.test(e.name)) yield [path, await Deno.readTextFile(path)];
  }
}

Deno.test("no server code calls fetch itself: the guarded fetch is the only caller", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const callers: string[] = [];
  let files = 0;
  for (const dir of ["lib", "jobs", "routes"]) {
    for await (const [path, text] of sources(root + dir)) {
      files++;
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""); // comments may mention fetch(…)
      if (/(?<![\w.]pre)(?<!\w)fetch\s*\(|\.fetch\s*\(|#fetch\s*\(/.test(code)) callers.push(path.slice(root.length));
    }
  }
  assert.ok(files > 100, `looked at ${files} files`);
  // The connector agent's ticket-system adapter runs inside the customer's network, not in the hub: its whole
  // job is to reach a private ticket system, which the hub's address policy exists to refuse.
  const agentSide = ["lib/connector/http_adapter.ts"];
  assert.deepEqual(callers.filter((p) => !agentSide.includes(p)), ["lib/http/guarded_fetch.ts"]);
});
