import assert from "node:assert/strict";
import { testConfig } from "../../lib/config.ts";
import { SecretBox } from "../../lib/crypto/secret_box.ts";
import { UpstreamApiError, UpstreamHttpError } from "../../lib/errors.ts";
import { OrgClients } from "../../lib/enrichment/org_clients.ts";
import type { Resolver } from "../../lib/http/url_guard.ts";
import { SettingsStore } from "../../lib/settings.ts";
import { startDadataFake } from "../fakes/dadata.ts";
import { startYandexGptFake } from "../fakes/yandexgpt.ts";
import { startTestHub } from "../helpers/hub.ts";

const fields = (b: { error: { details: Array<{ field: string }> } }) => b.error.details.map((d) => d.field);

Deno.test("PUT /enrichment/settings refuses metadata base URLs even with private networks allowed, naming the field", async () => {
  const t = await startTestHub();
  try {
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    const cases: Array<[string, Record<string, string>, string]> = [
      ["dadata", { baseUrl: "http://169.254.169.254" }, "baseUrl"],
      ["yandexgpt", { baseUrl: "http://metadata.google.internal/v1" }, "baseUrl"],
      ["yandexgpt", { baseUrl: "http://[fe80::1]/" }, "baseUrl"],
      ["enrichment", { webhookUrl: "http://169.254.169.254/hook" }, "webhookUrl"],
    ];
    for (const [section, json, field] of cases) {
      const res = await t.api(`/api/v1/enrichment/settings/${section}`, { method: "PUT", json });
      assert.equal(res.status, 422, JSON.stringify(json));
      const body = await res.json();
      assert.deepEqual(fields(body), [field]);
      assert.match(body.error.message, new RegExp(`${field}: .*always refused`));
    }
    const masked = await (await t.api("/api/v1/enrichment/settings")).json();
    assert.deepEqual(masked, { dadata: {}, yandexgpt: {}, enrichment: {} }, "nothing was written");
  } finally {
    await t.close();
  }
});

Deno.test("PUT /enrichment/settings refuses a base URL on 127.0.0.1 unless the organization allows private networks", async () => {
  const t = await startTestHub();
  try {
    const put = (json: Record<string, string>) => t.api("/api/v1/enrichment/settings/dadata", { method: "PUT", json });
    const refused = await put({ baseUrl: "http://127.0.0.1:8080" });
    assert.equal(refused.status, 422);
    const body = await refused.json();
    assert.deepEqual(fields(body), ["baseUrl"]);
    assert.match(body.error.details[0].message, /allowPrivateNetworks/);

    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    const ok = await put({ baseUrl: "http://127.0.0.1:8080" });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await t.close();
  }
});

async function clients(resolve: Resolver) {
  const dadata = await startDadataFake();
  const gpt = await startYandexGptFake();
  const kv = await Deno.openKv(":memory:");
  // The operator's ceiling allows every private network, so the organization's own setting decides.
  const config = testConfig({
    SHLYUZ_ALLOW_PRIVATE_NETWORKS: "on",
    DADATA_BASE_URL: dadata.url,
    DADATA_API_KEY: "test-dadata-key",
    DADATA_SECRET_KEY: "test-dadata-secret",
    YANDEXGPT_BASE_URL: gpt.url,
    YANDEXGPT_API_KEY: "test-yandexgpt-key",
    YANDEXGPT_FOLDER_ID: "b1gtest",
    ENRICH_RETRIES: "0",
  });
  const settings = new SettingsStore(kv, await SecretBox.fromBase64(config.SHLYUZ_SECRET_KEY!));
  // Allowed test names are "called" without the network.
  const fetchFn = (input: string | URL | Request, init?: RequestInit) =>
    new URL(input instanceof Request ? input.url : input).hostname.endsWith(".example.test")
      ? Promise.reject(new TypeError("no network in tests"))
      : fetch(input, init);
  const oc = new OrgClients({ settings, config, resolve, cacheMs: 0, fetch: fetchFn });
  return {
    oc,
    settings,
    dadata,
    close: async () => {
      kv.close();
      await dadata.close();
      await gpt.close();
    },
  };
}

Deno.test("an organization's base URL is checked again when its client is built: DNS to metadata or private is refused", async () => {
  const answers: Record<string, string[]> = {
    "meta.example.test": ["93.184.216.34", "169.254.169.254"],
    "inside.example.test": ["10.0.0.5"],
  };
  const c = await clients((host) => Promise.resolve(answers[host] ?? []));
  const phone = { task_id: 1, task_type: "phone" as const, data: "8 800 555 35 35" };
  const refusal = (p: Promise<unknown>) => p.then(() => null, (e: Error) => e);
  try {
    // The operator's env URLs (fakes on 127.0.0.1) are not checked.
    await c.oc.enrich("o", phone);
    assert.equal(c.dadata.state.calls, 1);

    const own = { apiKey: "k", secretKey: "s" };
    await c.settings.write("o", "dadata", { ...own, baseUrl: "https://meta.example.test" }, ["apiKey", "secretKey"]);
    const meta = await refusal(c.oc.enrich("o", phone));
    assert.ok(meta instanceof UpstreamApiError && !meta.transient);
    assert.match(
      meta.message,
      /^Refused the organization's DaData base URL \(dadata\.baseUrl\) for DaData: Cannot call meta\.example\.test \(169\.254\.169\.254\): .*always refused/,
    );
    // Only that service is refused: YandexGPT tasks still go to the env URL.
    assert.equal(typeof await c.oc.enrich("o", { task_id: 2, task_type: "gpt", data: "Привет" }), "string");

    await c.settings.write("o", "dadata", { baseUrl: "https://inside.example.test" });
    const inside = await refusal(c.oc.enrich("o", phone));
    assert.match(inside?.message ?? "", /Cannot call inside\.example\.test \(10\.0\.0\.5\): .*allowPrivateNetworks/);
    await c.settings.write("o", "general", { allowPrivateNetworks: true });
    const meta2 = await refusal(c.oc.enrich("o", phone));
    assert.ok(!(meta2 instanceof UpstreamApiError && meta2.code === "address_refused"), "private now allowed");

    // A name that does not resolve is a transient failure, as the call itself would be.
    await c.settings.write("o", "dadata", { baseUrl: "https://gone.example.test" });
    const gone = await refusal(c.oc.enrich("o", phone));
    assert.ok(gone instanceof UpstreamHttpError && gone.transient);
    assert.equal(c.dadata.state.calls, 1, "no refused URL was called");
  } finally {
    await c.close();
  }
});
