import assert from "node:assert/strict";
import { settingSources } from "../../lib/enrichment/setting_sources.ts";

const ENV = {
  DADATA_API_KEY: "env-key",
  DADATA_SECRET_KEY: "env-secret",
  DADATA_BASE_URL: "https://cleaner.dadata.ru",
  YANDEXGPT_API_KEY: undefined,
  YANDEXGPT_FOLDER_ID: undefined,
  YANDEXGPT_MODEL: "yandexgpt-lite/latest",
  YANDEXGPT_BASE_URL: "https://llm.api.cloud.yandex.net",
};

Deno.test("settingSources(): nothing stored — the environment's keys apply, secrets are never echoed", () => {
  const s = settingSources("dadata", null, ENV);
  assert.equal(s.credentials, "environment");
  assert.deepEqual(s.fields.apiKey, { from: "environment", variable: "DADATA_API_KEY", value: undefined });
  assert.deepEqual(s.fields.baseUrl, {
    from: "environment",
    variable: "DADATA_BASE_URL",
    value: "https://cleaner.dadata.ru",
  });
  assert.ok(!JSON.stringify(s).includes("env-key"));
});

Deno.test("settingSources(): a stored base URL turns the environment's keys off", () => {
  const s = settingSources("dadata", { baseUrl: "https://dadata.example.com" }, ENV);
  assert.equal(s.credentials, "environment_off");
  assert.deepEqual(s.fields.baseUrl, { from: "organization" });
  assert.deepEqual(s.fields.apiKey, { from: "none", envOff: true });
});

Deno.test("settingSources(): the organization's own keys; no keys anywhere; built-in defaults", () => {
  assert.equal(settingSources("dadata", { apiKey: "a", secretKey: "b" }, ENV).credentials, "organization");
  const gpt = settingSources("yandexgpt", null, ENV);
  assert.equal(gpt.credentials, "none");
  assert.deepEqual(gpt.fields.apiKey, { from: "none", envOff: false });
  assert.deepEqual(gpt.fields.temperature, { from: "default", value: "0.3" });
  assert.deepEqual(gpt.fields.model, {
    from: "environment",
    variable: "YANDEXGPT_MODEL",
    value: "yandexgpt-lite/latest",
  });
});
