import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { addMember } from "../../lib/accounts/store.ts";
import { listAudit, SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { clientAddress } from "../../lib/accounts/login_throttle.ts";

const OWNER = { SHLYUZ_ADMIN_EMAIL: "demo@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" };

async function login(t: TestHub, email: string, password: string, forwardedFor?: string) {
  const res = await fetch(`${t.url}/admin/login`, {
    method: "POST",
    headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {},
    body: new URLSearchParams({ email, password }),
    redirect: "manual",
  });
  await res.body?.cancel();
  return res.status;
}

async function withOperator(env: Record<string, string>, fn: (t: TestHub) => Promise<void>) {
  const t = await startTestHub({ env: { ...OWNER, ...env } });
  try {
    await addMember(
      t.hub.kv,
      t.org,
      { email: "operator@example.com", password: "operator password", role: "operator" },
      {
        actor: SYSTEM_ACTOR,
      },
    );
    await fn(t);
  } finally {
    await t.close();
  }
}

Deno.test("five failures for one account do not block a second account from the same address", () =>
  withOperator({}, async (t) => {
    for (let i = 0; i < 5; i++) assert.equal(await login(t, "demo@example.com", "wrong password"), 401);
    assert.equal(await login(t, "demo@example.com", "correct horse battery"), 429, "the typed-on account waits");
    assert.equal(await login(t, "operator@example.com", "operator password"), 303, "the colleague gets in");
  }));

Deno.test("the lock-out is written to the account's organization audit log for admins", () =>
  withOperator({}, async (t) => {
    for (let i = 0; i < 5; i++) await login(t, "demo@example.com", "wrong password");
    const { items } = await listAudit(t.hub.kv, t.org, { limit: 20 });
    const locked = items.filter((a) => a.action === "login.locked");
    assert.equal(locked.length, 1, "one entry when the counter fills, not one per refused attempt");
    assert.equal(locked[0].target, "demo@example.com");
    assert.equal(locked[0].details?.scope, "account_from_address");
  }));

Deno.test("X-Forwarded-For is ignored from an untrusted peer: a client cannot dodge the throttle with it", () =>
  withOperator({}, async (t) => {
    for (let i = 0; i < 5; i++) await login(t, "demo@example.com", "wrong password", `203.0.113.${i}`);
    assert.equal(await login(t, "demo@example.com", "correct horse battery", "198.51.100.7"), 429);
  }));

Deno.test("X-Forwarded-For is honoured from a trusted proxy: two clients behind it are told apart", () =>
  withOperator({ SHLYUZ_TRUSTED_PROXIES: "127.0.0.1" }, async (t) => {
    for (let i = 0; i < 5; i++) await login(t, "demo@example.com", "wrong password", "203.0.113.9");
    assert.equal(await login(t, "demo@example.com", "correct horse battery", "203.0.113.9"), 429);
    assert.equal(await login(t, "demo@example.com", "correct horse battery", "198.51.100.7"), 303);
  }));

Deno.test("clientAddress() reads X-Forwarded-For right to left and stops at the first untrusted hop", () => {
  const trusted = ["10.0.0.0/8", "127.0.0.1"];
  assert.equal(clientAddress("127.0.0.1", "6.6.6.6, 203.0.113.5, 10.1.2.3", trusted), "203.0.113.5");
  assert.equal(clientAddress("::ffff:10.9.9.9", "203.0.113.5", trusted), "203.0.113.5");
  assert.equal(clientAddress("192.0.2.1", "203.0.113.5", trusted), "192.0.2.1", "untrusted peer");
  assert.equal(clientAddress("127.0.0.1", undefined, trusted), "127.0.0.1");
  assert.equal(clientAddress("127.0.0.1", "203.0.113.5", []), "127.0.0.1", "nothing trusted by default");
});

Deno.test("an IPv6 client counts by its /64: rotating through its own addresses does not reset the throttle", () =>
  withOperator({ SHLYUZ_TRUSTED_PROXIES: "127.0.0.1" }, async (t) => {
    for (let i = 1; i <= 5; i++) {
      assert.equal(await login(t, "demo@example.com", "wrong password", `2001:db8:1:2::${i.toString(16)}`), 401);
    }
    assert.equal(await login(t, "demo@example.com", "correct horse battery", "2001:db8:1:2:ffff::6"), 429);
    assert.equal(await login(t, "demo@example.com", "correct horse battery", "2001:db8:1:3::1"), 303, "another /64");
  }));
