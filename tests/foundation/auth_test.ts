import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { createOrg, createUser } from "../../lib/accounts/store.ts";
import { createToken, OPERATOR_BINDING } from "../../lib/accounts/tokens.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";

/** Every foundation API route, with the least role that may use it. */
const ROUTES: Array<{ method: string; path: string; min: "viewer" | "operator" | "admin"; body?: unknown }> = [
  { method: "GET", path: "/api/v1/me", min: "viewer" },
  { method: "GET", path: "/api/v1/orgs", min: "viewer" },
  { method: "GET", path: "/api/v1/members", min: "viewer" },
  {
    method: "POST",
    path: "/api/v1/members",
    min: "admin",
    body: { email: "new@example.com", password: "long enough pw", role: "viewer" },
  },
  { method: "GET", path: "/api/v1/tokens", min: "admin" },
  { method: "POST", path: "/api/v1/tokens", min: "admin", body: { name: "x", role: "viewer" } },
  { method: "GET", path: "/api/v1/audit", min: "admin" },
  { method: "GET", path: "/api/v1/events/recent", min: "viewer" },
  { method: "POST", path: "/api/v1/events", min: "operator", body: { type: "custom.test", data: { a: 1 } } },
  { method: "GET", path: "/api/v1/dead-letters", min: "operator" },
  { method: "GET", path: "/api/v1/settings/general", min: "viewer" },
  { method: "PUT", path: "/api/v1/settings/general", min: "admin", body: { timezone: "Asia/Vladivostok" } },
];

async function withHub(fn: (t: TestHub) => Promise<void>) {
  const t = await startTestHub();
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

Deno.test("auth matrix: no token 401, wrong token 401, low role 403, enough role passes", () =>
  withHub(async (t) => {
    const viewer = await t.tokenFor("viewer");
    const operator = await t.tokenFor("operator");
    const admin = await t.tokenFor("admin");
    const rank = { viewer: 1, operator: 2, admin: 3 };
    for (const r of ROUTES) {
      const init = { method: r.method, json: r.body };
      const none = await t.api(r.path, { ...init, token: null });
      assert.equal(none.status, 401, `${r.method} ${r.path} without token`);
      assert.equal((await none.json()).error.code, "unauthorized");
      const wrong = await t.api(r.path, { ...init, token: "shz_not_a_real_token_at_all_000000" });
      assert.equal(wrong.status, 401, `${r.method} ${r.path} wrong token`);
      await wrong.body?.cancel();
      for (const [role, token] of [["viewer", viewer], ["operator", operator], ["admin", admin]] as const) {
        const res = await t.api(r.path, { ...init, token });
        const allowed = rank[role] >= rank[r.min];
        if (allowed) assert.ok(res.status < 300, `${r.method} ${r.path} as ${role}: ${res.status}`);
        else {
          assert.equal(res.status, 403, `${r.method} ${r.path} as ${role}`);
          assert.equal((await res.clone().json()).error.code, "forbidden");
        }
        await res.body?.cancel();
        if (r.method === "POST" && r.path === "/api/v1/members" && allowed) {
          // the same e-mail cannot be added twice: use a fresh one for the next role
          (r.body as { email: string }).email = `new-${role}-${Date.now()}@example.com`;
        }
      }
    }
  }));

Deno.test("a revoked token stops working at once", () =>
  withHub(async (t) => {
    const res = await t.api("/api/v1/tokens", { method: "POST", json: { name: "ci", role: "operator" } });
    assert.equal(res.status, 201);
    const { token, value } = await res.json();
    const before = await t.api("/api/v1/me", { token: value });
    assert.equal(before.status, 200);
    await before.body?.cancel();
    const revoke = await t.api(`/api/v1/tokens/${token.id}`, { method: "DELETE" });
    assert.equal(revoke.status, 200);
    await revoke.body?.cancel();
    const after = await t.api("/api/v1/me", { token: value });
    assert.equal(after.status, 401);
    await after.body?.cancel();
  }));

Deno.test("an admin cannot mint a token above their own role", () =>
  withHub(async (t) => {
    const admin = await t.tokenFor("admin");
    const res = await t.api("/api/v1/tokens", { method: "POST", json: { name: "x", role: "owner" }, token: admin });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  }));

Deno.test("objects of another organization answer 404", () =>
  withHub(async (t) => {
    const other = await createOrg(t.hub.kv, "Other", { actor: SYSTEM_ACTOR });
    const { token: foreign } = await createToken(t.hub.kv, other.id, { name: "f", role: "admin" }, {
      actor: SYSTEM_ACTOR,
      boundTo: OPERATOR_BINDING,
    });
    const dl = await t.api(`/api/v1/dead-letters/does-not-exist`);
    assert.equal(dl.status, 404);
    await dl.body?.cancel();
    const res = await t.api(`/api/v1/tokens/${foreign.id}`, { method: "DELETE" });
    assert.equal(res.status, 404, "revoking another org's token");
    await res.body?.cancel();
    const user = await createUser(t.hub.kv, { email: "x@other.example", password: "0123456789ab" });
    const patch = await t.api(`/api/v1/members/${user.id}`, { method: "PATCH", json: { role: "viewer" } });
    assert.equal(patch.status, 404);
    await patch.body?.cancel();
  }));

Deno.test("request errors use one shape: 400 invalid JSON, 422 names fields, 413 too large", async () => {
  const t = await startTestHub({ env: { SHLYUZ_BODY_LIMIT: "2048" } });
  try {
    const bad = await t.api("/api/v1/tokens", {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "invalid_json");

    const invalid = await t.api("/api/v1/tokens", { method: "POST", json: { name: "", role: "king", extra: 1 } });
    assert.equal(invalid.status, 422);
    const body = await invalid.json();
    assert.equal(body.error.code, "validation_failed");
    const fields = body.error.details.map((d: { field: string }) => d.field);
    assert.ok(fields.includes("name") && fields.includes("role"), JSON.stringify(fields));

    const big = await t.api("/api/v1/tokens", { method: "POST", json: { name: "x".repeat(5000), role: "viewer" } });
    assert.equal(big.status, 413);
    assert.equal((await big.json()).error.code, "payload_too_large");

    // the 1C intake carries base64 files: its paths have their own, larger limit
    const intake = await t.api("/", { method: "POST", json: { pad: "x".repeat(5000) } });
    assert.equal(intake.status, 422);
    await intake.body?.cancel();

    const missing = await t.api("/api/v1/nope");
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "not_found");
  } finally {
    await t.close();
  }
});

async function login(t: TestHub, email: string, password: string) {
  const res = await fetch(`${t.url}/admin/login`, {
    method: "POST",
    body: new URLSearchParams({ email, password, next: "/admin/events" }),
    redirect: "manual",
  });
  await res.body?.cancel();
  return res;
}

Deno.test("session login: HttpOnly SameSite cookie, CSRF required on writes, logout ends it", async () => {
  const t = await startTestHub({
    env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" },
  });
  try {
    const res = await login(t, "owner@example.com", "correct horse battery");
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/admin/events");
    const setCookie = res.headers.get("set-cookie")!;
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Lax/i);
    const cookie = setCookie.split(";")[0];

    const page = await fetch(`${t.url}/admin/events`, { headers: { cookie } });
    const html = await page.text();
    assert.equal(page.status, 200);
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(html)![1];

    const me = await fetch(`${t.url}/api/v1/me`, { headers: { cookie } });
    assert.equal((await me.json()).user.email, "owner@example.com");

    const body = JSON.stringify({ name: "from browser", role: "viewer" });
    const noCsrf = await fetch(`${t.url}/api/v1/tokens`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body,
    });
    assert.equal(noCsrf.status, 403);
    assert.equal((await noCsrf.json()).error.code, "csrf_failed");
    const wrongCsrf = await fetch(`${t.url}/api/v1/tokens`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-csrf-token": "nope" },
      body,
    });
    assert.equal(wrongCsrf.status, 403);
    await wrongCsrf.body?.cancel();
    const ok = await fetch(`${t.url}/api/v1/tokens`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
      body,
    });
    assert.equal(ok.status, 201);
    await ok.body?.cancel();

    const audit = await (await t.api("/api/v1/audit")).json();
    assert.ok(
      audit.items.some((a: { action: string; actorLabel: string }) =>
        a.action === "token.created" && a.actorLabel === "owner@example.com"
      ),
    );

    const out = await fetch(`${t.url}/admin/logout`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf }),
      redirect: "manual",
    });
    assert.equal(out.status, 303);
    await out.body?.cancel();
    const after = await fetch(`${t.url}/api/v1/me`, { headers: { cookie } });
    assert.equal(after.status, 401);
    await after.body?.cancel();
    const pageAfter = await fetch(`${t.url}/admin/events`, { headers: { cookie }, redirect: "manual" });
    assert.equal(pageAfter.status, 302);
    assert.match(pageAfter.headers.get("location")!, /^\/admin\/login/);
    await pageAfter.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("login is throttled after repeated failures", async () => {
  const t = await startTestHub({
    env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" },
  });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await login(t, "owner@example.com", "wrong password")).status, 401);
    const blocked = await login(t, "owner@example.com", "correct horse battery");
    assert.equal(blocked.status, 429);
  } finally {
    await t.close();
  }
});

Deno.test("members: add, change role, last owner is protected", () =>
  withHub(async (t) => {
    const add = await t.api("/api/v1/members", {
      method: "POST",
      json: { email: "Ivan@Example.com", name: "Иван", password: "0123456789ab", role: "operator" },
    });
    assert.equal(add.status, 201);
    const member = await add.json();
    assert.equal(member.email, "ivan@example.com");
    const again = await t.api("/api/v1/members", {
      method: "POST",
      json: { email: "ivan@example.com", role: "viewer" },
    });
    assert.equal(again.status, 409);
    await again.body?.cancel();
    const patch = await t.api(`/api/v1/members/${member.userId}`, { method: "PATCH", json: { role: "admin" } });
    assert.equal(patch.status, 200);
    await patch.body?.cancel();
    const admin = await t.tokenFor("admin");
    const grantOwner = await t.api(`/api/v1/members/${member.userId}`, {
      method: "PATCH",
      json: { role: "owner" },
      token: admin,
    });
    assert.equal(grantOwner.status, 403);
    await grantOwner.body?.cancel();
    const list = await (await t.api("/api/v1/members")).json();
    assert.deepEqual(list.items.map((m: { role: string }) => m.role), ["admin"]);
    const audit = await (await t.api("/api/v1/audit")).json();
    const actions = audit.items.map((a: { action: string }) => a.action);
    assert.ok(actions.includes("member.added") && actions.includes("member.role_changed"));
  }));

Deno.test("the organization switcher moves the session to another organization of the user", async () => {
  const t = await startTestHub({
    env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" },
  });
  try {
    const res = await login(t, "owner@example.com", "correct horse battery");
    const cookie = res.headers.get("set-cookie")!.split(";")[0];
    const page = await fetch(`${t.url}/admin`, { headers: { cookie } });
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())![1];
    const created = await fetch(`${t.url}/api/v1/orgs`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify({ name: "ООО «Второе»" }),
    });
    assert.equal(created.status, 201);
    const second = await created.json();
    const html = await (await fetch(`${t.url}/admin`, { headers: { cookie } })).text();
    assert.match(html, /action="\/admin\/switch-org"/);
    assert.match(html, /ООО «Второе» \(владелец\)/);
    const noCsrf = await fetch(`${t.url}/admin/switch-org`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ org: second.id }),
      redirect: "manual",
    });
    assert.equal(noCsrf.status, 403);
    await noCsrf.body?.cancel();
    const sw = await fetch(`${t.url}/admin/switch-org`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ org: second.id, _csrf: csrf }),
      redirect: "manual",
    });
    assert.equal(sw.status, 303);
    await sw.body?.cancel();
    const me = await (await fetch(`${t.url}/api/v1/me`, { headers: { cookie } })).json();
    assert.equal(me.org.id, second.id);
    assert.equal(me.role, "owner");
    const foreign = await fetch(`${t.url}/admin/switch-org`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ org: "not-my-org", _csrf: csrf }),
      redirect: "manual",
    });
    assert.equal(foreign.status, 404);
    await foreign.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("a browser that opens a wrong admin link gets an HTML error page; programs get JSON", async () => {
  const t = await startTestHub({
    env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" },
  });
  try {
    const res = await login(t, "owner@example.com", "correct horse battery");
    const cookie = res.headers.get("set-cookie")!.split(";")[0];
    const page = await fetch(`${t.url}/admin/audit?cursor=garbage`, { headers: { cookie, accept: "text/html" } });
    assert.equal(page.status, 422);
    assert.match(page.headers.get("content-type")!, /text\/html/);
    assert.match(await page.text(), /data-testid="error-message">[^<]*cursor/);
    const missing = await fetch(`${t.url}/admin/nope`, { headers: { cookie, accept: "text/html" } });
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /Не найдено/);
    const api = await fetch(`${t.url}/admin/audit?cursor=garbage`, { headers: { cookie } });
    assert.equal(api.status, 422);
    assert.equal((await api.json()).error.code, "validation_failed");
  } finally {
    await t.close();
  }
});

Deno.test("a login form posted from another site is refused", async () => {
  const t = await startTestHub({
    env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" },
  });
  try {
    const cross = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      headers: { origin: "https://evil.example" },
      body: new URLSearchParams({ email: "owner@example.com", password: "correct horse battery" }),
      redirect: "manual",
    });
    assert.equal(cross.status, 403);
    assert.equal(cross.headers.get("set-cookie"), null);
    await cross.body?.cancel();
    const same = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      headers: { origin: t.url },
      body: new URLSearchParams({ email: "owner@example.com", password: "correct horse battery" }),
      redirect: "manual",
    });
    assert.equal(same.status, 303);
    await same.body?.cancel();
  } finally {
    await t.close();
  }
});
