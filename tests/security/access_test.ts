/** Issue 10, findings 2–5: each as it was found, so it cannot come back unseen. */
import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { addMember, changeRole, createOrg, listOrgs, removeMember } from "../../lib/accounts/store.ts";
import { authenticateToken, createToken, revokeToken } from "../../lib/accounts/tokens.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { bootstrap, consumeSetupCode, SETUP_LINK_TTL_MS, setupCodeValid } from "../../lib/accounts/bootstrap.ts";
import { testConfig } from "../../lib/config.ts";
import { memoryLogger } from "../../lib/log.ts";

/** The status of a call, its body read and dropped (sanitizers count an unread body as a leak). */
async function status(res: Promise<Response>): Promise<number> {
  const r = await res;
  await r.body?.cancel();
  return r.status;
}

const ADMIN_TOKEN = "shz_operator_automation_token_0123456789";

Deno.test("a removed member's token stops working at once and cannot bring them back", async () => {
  const t = await startTestHub();
  try {
    const kv = t.hub.kv;
    const admin = await addMember(kv, t.org, { email: "admin@x.ru", password: "long-password-1", role: "admin" }, {
      actor: SYSTEM_ACTOR,
    });
    const { value } = await createToken(kv, t.org, { name: "theirs", role: "admin" }, {
      actor: SYSTEM_ACTOR,
      boundTo: { kind: "member", userId: admin.userId },
    });
    assert.equal(await status(t.api("/api/v1/me", { token: value })), 200);
    await removeMember(kv, t.org, admin.userId, { actor: SYSTEM_ACTOR, actorRole: "owner" });
    assert.equal(await status(t.api("/api/v1/me", { token: value })), 401);
    const back = await t.api("/api/v1/members", {
      token: value,
      method: "POST",
      json: { email: "admin@x.ru", role: "admin" },
    });
    assert.equal(back.status, 401);
    await back.body?.cancel();
    const tokens = await (await t.api("/api/v1/tokens")).json();
    const theirs = tokens.items.find((x: { name: string }) => x.name === "theirs");
    assert.ok(theirs.revokedAt, "the token is revoked, not only refused");
    assert.equal(theirs.creator.kind, "member");
  } finally {
    await t.close();
  }
});

Deno.test("a demoted member's tokens are capped at the new role", async () => {
  const t = await startTestHub();
  try {
    const kv = t.hub.kv;
    const m = await addMember(kv, t.org, { email: "ops@x.ru", password: "long-password-1", role: "admin" }, {
      actor: SYSTEM_ACTOR,
    });
    const { value } = await createToken(kv, t.org, { name: "ops", role: "admin" }, {
      actor: SYSTEM_ACTOR,
      boundTo: { kind: "member", userId: m.userId },
    });
    assert.equal((await authenticateToken(kv, value))?.role, "admin");
    await changeRole(kv, t.org, m.userId, "viewer", { actor: SYSTEM_ACTOR, actorRole: "owner" });
    assert.equal((await authenticateToken(kv, value))?.role, "viewer");
    const write = await t.api("/api/v1/members", {
      token: value,
      method: "POST",
      json: { email: "z@x.ru", role: "viewer" },
    });
    assert.equal(write.status, 403);
    await write.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("a revoked SHLYUZ_ADMIN_TOKEN stays revoked across restarts", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const config = testConfig({ SHLYUZ_ADMIN_TOKEN: ADMIN_TOKEN, SHLYUZ_ADMIN_EMAIL: "", SHLYUZ_ADMIN_PASSWORD: "" });
    const log = memoryLogger("info");
    const { org } = await bootstrap(kv, config, log);
    const ref = await authenticateToken(kv, ADMIN_TOKEN);
    assert.ok(ref, "created on first start");
    await revokeToken(kv, org!.id, ref.id, { actor: SYSTEM_ACTOR });
    await bootstrap(kv, config, log); // the restart
    assert.equal(await authenticateToken(kv, ADMIN_TOKEN), null);
    assert.ok(log.lines.some((l) => /stays revoked/.test(l) && /new value/.test(l)), "the log says how to rotate");
  } finally {
    kv.close();
  }
});

Deno.test("the setup link dies once any organization exists and after its lifetime", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const bare = testConfig({ SHLYUZ_ADMIN_TOKEN: "", SHLYUZ_ADMIN_EMAIL: "", SHLYUZ_ADMIN_PASSWORD: "" });
    const log = memoryLogger("info");
    const now = Date.UTC(2026, 0, 1);
    const first = await bootstrap(kv, bare, log, { now });
    const code = first.setupUrl!.split("/").pop()!;
    assert.equal(await setupCodeValid(kv, code, now), true);
    assert.equal(await setupCodeValid(kv, code, now + SETUP_LINK_TTL_MS + 1), false, "expired");

    // Restart with the environment's owner: the old link must not create a second organization.
    await bootstrap(kv, testConfig({ SHLYUZ_ADMIN_EMAIL: "o@x.ru", SHLYUZ_ADMIN_PASSWORD: "long-password-1" }), log, {
      now,
    });
    assert.equal(await setupCodeValid(kv, code, now), false);
    assert.equal(await consumeSetupCode(kv, code, now), false);
    assert.equal((await listOrgs(kv)).length, 1);
  } finally {
    kv.close();
  }
});

Deno.test("a link printed before an organization was created some other way does not work either", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const bare = testConfig({ SHLYUZ_ADMIN_TOKEN: "", SHLYUZ_ADMIN_EMAIL: "", SHLYUZ_ADMIN_PASSWORD: "" });
    const { setupUrl } = await bootstrap(kv, bare, memoryLogger("error"));
    const code = setupUrl!.split("/").pop()!;
    await createOrg(kv, "Made by the API", { actor: SYSTEM_ACTOR });
    assert.equal(await consumeSetupCode(kv, code), false);
  } finally {
    kv.close();
  }
});

Deno.test("pages and the API send frame, sniffing and referrer headers; HSTS only behind https", async () => {
  const plain = await startTestHub();
  const tls = await startTestHub({ env: { PUBLIC_URL: "https://hub.example.ru" } });
  try {
    for (const path of ["/admin/login", "/ping/", "/docs"]) {
      const res = await fetch(plain.url + path);
      await res.body?.cancel();
      assert.match(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/, path);
      assert.equal(res.headers.get("x-frame-options"), "DENY", path);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
      assert.ok(res.headers.get("referrer-policy"), path);
      assert.equal(res.headers.get("strict-transport-security"), null, path);
    }
    const res = await fetch(tls.url + "/admin/login");
    await res.body?.cancel();
    assert.match(res.headers.get("strict-transport-security") ?? "", /max-age=\d+/);
  } finally {
    await plain.close();
    await tls.close();
  }
});

Deno.test("/metrics needs SHLYUZ_METRICS_TOKEN when it is set", async () => {
  const metricsToken = "metrics_scraper_token_0123456789abcdef";
  const t = await startTestHub({ env: { SHLYUZ_METRICS_TOKEN: metricsToken } });
  try {
    for (const auth of [undefined, "Bearer wrong-token-wrong-token-wrong", `Bearer ${t.ownerToken}`]) {
      const res = await fetch(t.url + "/metrics", { headers: auth ? { authorization: auth } : {} });
      assert.equal(res.status, 401, String(auth));
      await res.body?.cancel();
    }
    const ok = await fetch(t.url + "/metrics", { headers: { authorization: `Bearer ${metricsToken}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /shlyuz_http_requests_total/);
  } finally {
    await t.close();
  }
});
