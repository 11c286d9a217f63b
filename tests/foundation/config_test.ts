import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../lib/config.ts";
import { freePort, spawnMain, startMain } from "../helpers/main_process.ts";

Deno.test("loadConfig() gives working defaults with an empty environment", () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 8000);
  assert.equal(c.HOST, "127.0.0.1");
  assert.equal(c.SHLYUZ_KV_PATH, undefined);
  assert.equal(c.DADATA_BASE_URL, "https://cleaner.dadata.ru");
  assert.equal(c.YANDEXGPT_MODEL, "yandexgpt-lite/latest");
  assert.equal(c.SLA_INTERVAL, 300);
  assert.deepEqual(c.SHLYUZ_QUEUE_BACKOFF_MS, [1000, 5000, 30000, 60000, 300000]);
});

Deno.test("loadConfig() names the variable and the problem in one line", () => {
  assert.throws(() => loadConfig({ PORT: "eighty" }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^Invalid configuration: PORT: /);
    assert.equal(e.message.split("\n").length, 1);
    return true;
  });
  assert.throws(() => loadConfig({ SHLYUZ_SECRET_KEY: "short" }), /SHLYUZ_SECRET_KEY: must be 32 bytes in base64/);
  assert.throws(() => loadConfig({ DATABASE_URL: "mysql://x" }), /DATABASE_URL: must be a postgres:\/\/ URL/);
  assert.throws(() => loadConfig({ SHLYUZ_TIMEZONE: "Mars/Olympus" }), /SHLYUZ_TIMEZONE: must be an IANA time zone/);
  assert.throws(() => loadConfig({ DADATA_BASE_URL: "ftp://x" }), /DADATA_BASE_URL/);
  assert.throws(
    () => loadConfig({ SHLYUZ_QUEUE_BACKOFF_MS: "1,a" }),
    /SHLYUZ_QUEUE_BACKOFF_MS: must be comma-separated/,
  );
});

Deno.test("loadConfig() wants the first owner's e-mail and password together", () => {
  assert.throws(
    () => loadConfig({ SHLYUZ_ADMIN_EMAIL: "a@b.ru" }),
    /SHLYUZ_ADMIN_PASSWORD: required when SHLYUZ_ADMIN_EMAIL is set/,
  );
  assert.throws(
    () => loadConfig({ SHLYUZ_ADMIN_PASSWORD: "0123456789ab" }),
    /SHLYUZ_ADMIN_EMAIL: required when SHLYUZ_ADMIN_PASSWORD is set/,
  );
});

Deno.test("loadConfig() reports every bad variable at once", () => {
  assert.throws(() => loadConfig({ PORT: "-1", AMQP_URL: "http://x" }), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /PORT: .*; AMQP_URL: must be an amqp:\/\/ URL/);
    return true;
  });
});

Deno.test("main.ts stops with one line naming the variable when config is bad", async () => {
  const main = spawnMain({ PORT: "not-a-port", SHLYUZ_KV_PATH: ":memory:" });
  const { code } = await main.done;
  assert.equal(code, 1);
  const err = main.stderr().trim();
  assert.match(err, /^Invalid configuration: PORT: /);
  assert.equal(err.split("\n").length, 1);
});

Deno.test("main.ts starts with crons enabled and answers /ping/, then stops on SIGTERM", async () => {
  const port = freePort();
  const main = await startMain({
    PORT: String(port),
    SHLYUZ_KV_PATH: ":memory:",
    SHLYUZ_LOG_LEVEL: "warn",
    SHLYUZ_DATA_DIR: await Deno.makeTempDir(),
  }, { url: `http://127.0.0.1:${port}` });
  const status = await main.stop("SIGTERM");
  assert.equal(status.code, 0, main.stderr());
});
