import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { addMember, changeRole, listMembers, removeMember } from "../../lib/accounts/store.ts";
import { createSession, getSession } from "../../lib/accounts/sessions.ts";
import { reserveLoginAttempt } from "../../lib/accounts/login_throttle.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";

const OWNER = { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" };

function login(t: TestHub, password: string) {
  return fetch(`${t.url}/admin/login`, {
    method: "POST",
    body: new URLSearchParams({ email: "owner@example.com", password }),
    redirect: "manual",
  }).then(async (r) => {
    await r.body?.cancel();
    return r.status;
  });
}

Deno.test("parallel wrong passwords cannot slip past the login throttle", async () => {
  const t = await startTestHub({ env: OWNER });
  try {
    const statuses = await Promise.all(Array.from({ length: 20 }, () => login(t, "wrong password!")));
    assert.equal(statuses.filter((s) => s === 401).length, 5, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 429).length, 15);
  } finally {
    await t.close();
  }
});

Deno.test("reserveLoginAttempt() counts atomically under contention", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const results = await Promise.all(
      Array.from({ length: 30 }, () => reserveLoginAttempt(kv, [{ key: "account:x", max: 7 }])),
    );
    assert.equal(results.filter((r) => r.ok).length, 7);
    assert.equal((await kv.get<number>(["login_fail", "account:x"])).value, 7);
  } finally {
    kv.close();
  }
});

Deno.test("two owners demoting and removing each other at once leave one owner", async () => {
  const t = await startTestHub({ env: OWNER });
  try {
    const b = await addMember(t.hub.kv, t.org, { email: "b@example.com", password: "0123456789ab", role: "owner" }, {
      actor: SYSTEM_ACTOR,
    });
    const a = (await listMembers(t.hub.kv, t.org)).find((m) => m.email === "owner@example.com")!;
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([
        changeRole(t.hub.kv, t.org, a.userId, "admin", { actor: SYSTEM_ACTOR, actorRole: "owner" }),
        removeMember(t.hub.kv, t.org, b.userId, { actor: SYSTEM_ACTOR, actorRole: "owner" }),
      ]);
      const owners = (await listMembers(t.hub.kv, t.org)).filter((m) => m.role === "owner");
      assert.ok(owners.length >= 1, `round ${round}: no owner left`);
      assert.ok(results.some((r) => r.status === "rejected"), "one of the two must be refused");
      // restore both owners for the next round
      if (!owners.some((o) => o.userId === a.userId)) {
        await changeRole(t.hub.kv, t.org, a.userId, "owner", { actor: SYSTEM_ACTOR, actorRole: "owner" });
      }
      if (!(await listMembers(t.hub.kv, t.org)).some((m) => m.userId === b.userId)) {
        await addMember(t.hub.kv, t.org, { email: "b@example.com", role: "owner" }, { actor: SYSTEM_ACTOR });
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("a session is refused after its lifetime even if KV still shows it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const now = Date.parse("2026-11-24T10:00:00Z");
    const s = await createSession(kv, "u1", "o1", { ttlMs: 60_000, now });
    assert.ok(await getSession(kv, s.id, now + 59_000));
    assert.equal(await getSession(kv, s.id, now + 61_000), null);
  } finally {
    kv.close();
  }
});

Deno.test("shutdown ends open SSE streams instead of waiting for them", async () => {
  const t = await startTestHub();
  const res = await t.api("/api/v1/events");
  const reader = res.body!.getReader();
  await reader.read(); // subscribed
  const started = Date.now();
  await t.close();
  assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
  // the stream ended cleanly on the client side too
  while (!(await reader.read()).done) { /* drain */ }
});

Deno.test("only owners create organizations", async () => {
  const t = await startTestHub({ env: OWNER });
  try {
    await addMember(t.hub.kv, t.org, { email: "op@example.com", password: "0123456789ab", role: "admin" }, {
      actor: SYSTEM_ACTOR,
    });
    const res = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "op@example.com", password: "0123456789ab" }),
      redirect: "manual",
    });
    await res.body?.cancel();
    const cookie = res.headers.get("set-cookie")!.split(";")[0];
    const html = await (await fetch(`${t.url}/admin`, { headers: { cookie } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(html)![1];
    assert.doesNotMatch(html, /New organization|Новая организация/);
    const create = await fetch(`${t.url}/api/v1/orgs`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": csrf, "content-type": "application/json" },
      body: JSON.stringify({ name: "Mine" }),
    });
    assert.equal(create.status, 403);
    await create.body?.cancel();
  } finally {
    await t.close();
  }
});
