import assert from "node:assert/strict";
import { SecretBox } from "../../lib/crypto/secret_box.ts";
import { SettingsStore } from "../../lib/settings.ts";
import { createLogger, redactText } from "../../lib/log.ts";
import { startTestHub } from "../helpers/hub.ts";

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(1)));

Deno.test("SecretBox round-trips and binds a value to its owner", async () => {
  const box = await SecretBox.fromBase64(KEY);
  const sealed = await box.seal("api-key-123", "org1:dadata.apiKey");
  assert.ok(sealed.startsWith("v1:"));
  assert.ok(!sealed.includes("api-key-123"));
  assert.equal(await box.open(sealed, "org1:dadata.apiKey"), "api-key-123");
  await assert.rejects(
    () => box.open(sealed, "org2:dadata.apiKey"),
    /wrong SHLYUZ_SECRET_KEY or the value was tampered/,
  );
  const other = await SecretBox.fromBase64(btoa(String.fromCharCode(...new Uint8Array(32).fill(2))));
  await assert.rejects(() => other.open(sealed, "org1:dadata.apiKey"));
  assert.notEqual(await box.seal("same", "a"), await box.seal("same", "a"), "a fresh IV each time");
});

Deno.test("settings keep secret fields encrypted in KV and open them on read", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new SettingsStore(kv, await SecretBox.fromBase64(KEY));
    await store.write("org1", "dadata", { apiKey: "TOPSECRET", baseUrl: "http://x" }, ["apiKey"]);
    const raw = (await kv.get<Record<string, string>>(["settings", "org1", "dadata"])).value!;
    assert.ok(!JSON.stringify(raw).includes("TOPSECRET"));
    assert.equal(raw.baseUrl, "http://x");
    assert.deepEqual(await store.read("org1", "dadata"), { apiKey: "TOPSECRET", baseUrl: "http://x" });
    assert.deepEqual(await store.masked("org1", "dadata"), { apiKey: "••••", baseUrl: "http://x" });
    await store.write("org1", "dadata", { apiKey: undefined, baseUrl: "http://y" }, ["apiKey"]);
    assert.equal((await store.read("org1", "dadata"))?.apiKey, "TOPSECRET", "an omitted secret is kept");
  } finally {
    kv.close();
  }
});

Deno.test("the logger redacts secrets by key and inside text", () => {
  const lines: string[] = [];
  const log = createLogger({ sink: (l) => lines.push(l) });
  log.info("calling https://portal.bitrix24.ru/rest/1/abcdefsecret/tasks.task.add", {
    password: "hunter2hunter2",
    headers: { Authorization: "Bearer shz_abc", "X-Secret": "dadata-secret" },
    botToken: "123:AAA",
    nested: { apiKey: "k-1" },
    error: new Error("failed: Token deadbeefcafe"),
  });
  const text = lines.join("\n");
  for (
    const secret of ["hunter2hunter2", "shz_abc", "dadata-secret", "123:AAA", "k-1", "abcdefsecret", "deadbeefcafe"]
  ) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.equal(
    redactText("https://api.telegram.org/bot123456:ABC-def/sendMessage"),
    "https://api.telegram.org/bot[redacted]/sendMessage",
  );
  assert.equal(redactText("amqp://guest:guest@127.0.0.1"), "amqp://guest:[redacted]@127.0.0.1");
  assert.equal(
    redactText("GET https://x.example/hook?id=5&api_key=abc123&access_token=t0k#f"),
    "GET https://x.example/hook?id=5&api_key=[redacted]&access_token=[redacted]#f",
  );
});

Deno.test("secrets set through the API never reach a log line", async () => {
  const t = await startTestHub({
    env: { SHLYUZ_LOG_LEVEL: "debug", SHLYUZ_ADMIN_EMAIL: "o@example.com", SHLYUZ_ADMIN_PASSWORD: "pw-secret-0123456" },
  });
  try {
    const res = await t.api("/api/v1/tokens", { method: "POST", json: { name: "n", role: "viewer" } });
    const { value } = await res.json();
    const me = await t.api("/api/v1/me", { token: value });
    await me.body?.cancel();
    const login = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "o@example.com", password: "wrong-password-xyz" }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const all = t.log.lines.join("\n");
    assert.ok(t.log.lines.length > 0);
    for (const secret of [value, t.ownerToken, "pw-secret-0123456", "wrong-password-xyz"]) {
      assert.ok(!all.includes(secret), `a secret leaked into the log`);
    }
  } finally {
    await t.close();
  }
});
