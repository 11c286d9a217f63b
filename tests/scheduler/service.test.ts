import assert from "node:assert/strict";
import { ValidationError } from "../../lib/errors.ts";
import { MASK } from "../../lib/scheduler/schedule_schema.ts";
import { setup } from "../helpers/scheduler.ts";

async function rejects422(fn: () => unknown, field: string, message?: RegExp) {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected ValidationError, got ${error}`);
    const details = error.fields;
    assert.ok(details.some((d) => d.field === field), `expected field ${field} in ${JSON.stringify(details)}`);
    if (message) assert.match(error.message, message);
    return;
  }
  assert.fail(`expected a 422 naming ${field}`);
}

const http = (url = "https://example.com/hook") => ({ type: "http", url });

Deno.test("parse() answers 422 naming the field for bad cron, zone, URL scheme and body size", async () => {
  const t = await setup({ env: { SHLYUZ_SCHEDULER_BODY_LIMIT: "16" } });
  try {
    const s = t.scheduler;
    await rejects422(() => s.parse({ name: "x", cron: "61 * * * *", action: http() }), "cron", /invalid cron/);
    await rejects422(() => s.parse({ name: "x", cron: "* * * *", action: http() }), "cron", /5 fields/);
    await rejects422(
      () => s.parse({ name: "x", cron: "* * * * *", timezone: "Mars/Base", action: http() }),
      "timezone",
      /unknown time zone/,
    );
    await rejects422(() => s.parse({ name: "x", cron: "* * * * *", action: http("ftp://example.com/") }), "action.url");
    await rejects422(
      () => s.parse({ name: "x", cron: "* * * * *", action: { ...http(), body: "x".repeat(17) } }),
      "action.body",
      /17 bytes; the limit is 16 bytes/,
    );
    assert.equal(
      s.parse({ name: "x", cron: "* * * * *", action: { ...http(), body: "x".repeat(16) } }).overlap,
      "skip",
    );
  } finally {
    await t.close();
  }
});

Deno.test("create() rejects unknown and scheduler job kinds and bad payloads at save time", async () => {
  const t = await setup();
  try {
    const s = t.scheduler;
    const base = { name: "x", cron: "* * * * *" };
    await rejects422(
      async () => await s.create(t.org, s.parse({ ...base, action: { type: "internal", job: "nope.job" } })),
      "action.job",
      /nope\.job is not a job organizations may schedule; schedulable jobs: bitrix\.cache\.refresh, demo\.ping, task\.process/,
    );
    await rejects422(
      async () => await s.create(t.org, s.parse({ ...base, action: { type: "internal", job: "schedule.fire" } })),
      "action.job",
    );
    await rejects422(
      async () =>
        await s.create(t.org, s.parse({ ...base, action: { type: "internal", job: "demo.ping", payload: {} } })),
      "action.payload",
    );
    const ok = await s.create(
      t.org,
      s.parse({ ...base, action: { type: "internal", job: "demo.ping", payload: { to: "a" } } }),
    );
    assert.equal(ok.action.type, "internal");
  } finally {
    await t.close();
  }
});

Deno.test("create() refuses private URLs unless the organization allows them", async () => {
  const t = await setup();
  try {
    const input = t.scheduler.parse({ name: "x", cron: "* * * * *", action: http("http://127.0.0.1:9/x") });
    await rejects422(() => t.scheduler.create(t.org, input), "action.url", /does not allow private networks/);
    await rejects422(
      () =>
        t.scheduler.create(
          t.org,
          t.scheduler.parse({ name: "x", cron: "* * * * *", action: http("http://169.254.169.254/") }),
        ),
      "action.url",
      /always refused/,
    );
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    assert.ok(await t.scheduler.create(t.org, input));
  } finally {
    await t.close();
  }
});

Deno.test("create() takes the default zone from the organization's general settings, else SHLYUZ_TIMEZONE", async () => {
  const t = await setup({ env: { SHLYUZ_TIMEZONE: "Asia/Vladivostok" } });
  try {
    const input = t.scheduler.parse({ name: "x", cron: "0 9 * * *", action: http() });
    const a = await t.scheduler.create(t.org, input);
    assert.equal(a.timezone, "Asia/Vladivostok");
    assert.equal(a.nextRunLocal, "2025-06-03 09:00:00 Asia/Vladivostok (GMT+10)");
    await t.hub.settings.write(t.org, "general", { timezone: "Europe/Berlin" });
    const b = await t.scheduler.create(t.org, input);
    assert.equal(b.timezone, "Europe/Berlin");
    assert.equal(b.nextRunAt, "2025-06-03T07:00:00.000Z");
  } finally {
    await t.close();
  }
});

Deno.test("secret headers are sealed at rest, masked in answers, and kept when sent back masked", async () => {
  const t = await setup();
  try {
    const s = t.scheduler;
    const created = await s.create(
      t.org,
      s.parse({
        name: "x",
        cron: "* * * * *",
        action: {
          ...http(),
          headers: { Authorization: "Bearer s3cret", "X-Trace": "plain", "X-Sig": "sig-value" },
          secretHeaders: ["X-Sig"],
        },
      }),
    );
    assert.deepEqual(created.action.type === "http" && created.action.headers, {
      Authorization: MASK,
      "X-Trace": "plain",
      "X-Sig": MASK,
    });
    const raw = JSON.stringify((await t.hub.kv.get(["sched", t.org, created.id])).value);
    assert.ok(!raw.includes("s3cret") && !raw.includes("sig-value"), "secrets must not be stored in the clear");
    const updated = await s.patch(t.org, created.id, { name: "renamed" });
    assert.equal(updated?.revision, 2);
    const stored = await s.store.get(t.org, created.id);
    assert.deepEqual(await s.store.openHeaders(stored!), {
      Authorization: "Bearer s3cret",
      "X-Trace": "plain",
      "X-Sig": "sig-value",
    });
  } finally {
    await t.close();
  }
});

Deno.test("a masked secret header is refused when the edit moves the URL to another origin", async () => {
  const t = await setup();
  try {
    const s = t.scheduler;
    const created = await s.create(
      t.org,
      s.parse({
        name: "x",
        cron: "* * * * *",
        action: { ...http(), url: "https://api.example.com/hook", headers: { "X-Api-Key": "k-123" } },
      }),
    );
    const moved = (url: string, key = MASK) => ({
      action: { type: "http", url, headers: { "X-Api-Key": key }, secretHeaders: ["X-Api-Key"] },
    });
    for (
      const url of ["https://evil.example.net/hook", "http://api.example.com/hook", "https://api.example.com:8443/h"]
    ) {
      await rejects422(() => s.patch(t.org, created.id, moved(url)), "action.headers.X-Api-Key", /origin/);
    }
    const stored = await s.store.get(t.org, created.id);
    assert.equal(stored?.action.type === "http" && stored.action.url, "https://api.example.com/hook");
    // Same origin (default port spelled out, other path): the masked value keeps the stored one.
    await s.patch(t.org, created.id, moved("https://api.example.com:443/other"));
    assert.deepEqual(await s.store.openHeaders((await s.store.get(t.org, created.id))!), { "X-Api-Key": "k-123" });
    // Sending the value again allows the move.
    await s.patch(t.org, created.id, moved("https://new.example.org/hook", "k-456"));
    const after = await s.store.get(t.org, created.id);
    assert.equal(after?.action.type === "http" && after.action.url, "https://new.example.org/hook");
    assert.deepEqual(await s.store.openHeaders(after!), { "X-Api-Key": "k-456" });
  } finally {
    await t.close();
  }
});
