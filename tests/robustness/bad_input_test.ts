/**
 * Robustness sweep: every operation in /openapi.json, and the HTML routes
 * outside it, gets malformed input with valid credentials. Bad input must
 * answer a 4xx in the error shape naming the field — never a 5xx.
 */
import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import {
  check,
  FORM_BODIES,
  GARBAGE_PATH_PARAMS,
  noServerError,
  ONEC_COMPAT,
  operations,
  probes,
  rawRequest,
  SSE,
  UPSTREAM,
} from "./_probes.ts";

const OWNER_EMAIL = "owner@example.com";
const OWNER_PASSWORD = "correct horse battery";

/** No test reaches the internet: every upstream call fails fast. */
const offlineFetch = (_input: RequestInfo | URL, _init?: RequestInit) =>
  Promise.resolve(new Response("upstream is offline in this test", { status: 503 }));

async function withHub(fn: (t: TestHub) => Promise<void>) {
  const t = await startTestHub({
    fetch: offlineFetch,
    env: { SHLYUZ_ADMIN_EMAIL: OWNER_EMAIL, SHLYUZ_ADMIN_PASSWORD: OWNER_PASSWORD },
  });
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

Deno.test("every API operation answers malformed input with a 4xx in the error shape, never a 5xx", () =>
  withHub(async (t) => {
    const res = await t.api("/openapi.json");
    const doc = await res.json();
    const ops = operations(doc);
    assert.ok(ops.length > 30, `expected the whole API in /openapi.json, got ${ops.length} operations`);
    const problems: string[] = [];
    let sent = 0;
    for (const op of ops) {
      const id = `${op.method} ${op.path}`;
      const expect = { errorShape: !ONEC_COMPAT.has(id) && !SSE.has(id), sse: SSE.has(id), upstream: UPSTREAM[id] };
      for (const probe of probes(doc, op)) {
        sent++;
        const problem = await check(t.url, probe, op.method, t.ownerToken, expect);
        if (problem) problems.push(`${id} [${probe.label}] → ${problem}`);
      }
    }
    assert.ok(sent > 1000, `only ${sent} probes were sent`);
    assert.deepEqual(problems, [], `${problems.length} of ${sent} probes misbehaved:\n${problems.join("\n")}`);
  }));

async function login(t: TestHub): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${t.url}/admin/login`, {
    method: "POST",
    body: new URLSearchParams({ email: OWNER_EMAIL, password: OWNER_PASSWORD, next: "/admin/events" }),
    redirect: "manual",
  });
  await res.body?.cancel();
  assert.equal(res.status, 303);
  const cookie = res.headers.get("set-cookie")!.split(";")[0];
  const page = await fetch(`${t.url}/admin/events`, { headers: { cookie } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())![1];
  return { cookie, csrf };
}

Deno.test("admin forms, pages and static files survive garbage without a 5xx", () =>
  withHub(async (t) => {
    const { cookie, csrf } = await login(t);
    const problems: string[] = [];
    const collect = (p: string | null) => p && problems.push(p);

    const formTargets = [
      "/admin/login",
      "/admin/setup/garbage",
      `/admin/setup/${"x".repeat(3000)}`,
      "/admin/setup/%00",
    ];
    for (const target of [...formTargets, "/admin/switch-org", "/admin/logout"]) {
      for (const f of FORM_BODIES) {
        for (const withCookie of [false, true]) {
          const headers: Record<string, string> = f.type ? { "content-type": f.type } : {};
          if (withCookie) headers.cookie = cookie;
          const label = `${f.label}${withCookie ? ", with session" : ""}`;
          collect(await noServerError(`${t.url}${target}`, { method: "POST", body: f.body, headers }, label));
        }
      }
    }
    // API writes with a session: the CSRF token is looked for in a form body that may be broken
    for (const f of FORM_BODIES) {
      for (const path of ["/api/v1/events", "/api/v1/tokens", "/api/v1/settings/general"]) {
        const headers: Record<string, string> = { cookie, ...(f.type ? { "content-type": f.type } : {}) };
        collect(
          await noServerError(`${t.url}${path}`, { method: "POST", body: f.body, headers }, `${f.label}, session`),
        );
      }
    }
    // switch-org with a valid CSRF token and a garbage organization
    for (const org of ["", "garbage", "x".repeat(3000), "\u0000", "😀"]) {
      collect(
        await noServerError(`${t.url}/admin/switch-org`, {
          method: "POST",
          body: new URLSearchParams({ _csrf: csrf, org }),
          headers: { cookie },
        }),
      );
    }

    const pages = [
      "/admin",
      "/admin/events",
      "/admin/members",
      "/admin/tokens",
      "/admin/audit",
      "/admin/dead-letters",
      "/admin/scheduler",
      "/admin/onec",
      "/admin/enrichment",
      "/admin/connectors",
      "/admin/notifications",
      "/admin/login",
    ];
    const queries = [
      "cursor=garbage",
      "cursor=%00",
      `cursor=${"A".repeat(3000)}`,
      "cursor=eyJ4IjoxfQ",
      "kind=%00",
      `kind=${"k".repeat(3000)}`,
      "limit=-1",
      "limit=abc",
      "limit=1e999",
      "type=%00",
      "types=%00",
      "status=%ZZ",
      "page=-1",
      "next=%00",
      "next=//evil.example",
      "after=garbage",
      "q=%F0%9F%98%80",
    ];
    for (const page of pages) {
      for (const q of queries) collect(await noServerError(`${t.url}${page}?${q}`, { headers: { cookie } }));
    }
    const detailPages = ["/admin/scheduler/", "/admin/scheduler/runs/", "/admin/enrichment/rows/", "/admin/setup/"];
    for (const prefix of detailPages) {
      for (const raw of GARBAGE_PATH_PARAMS) {
        collect(await noServerError(`${t.url}${prefix}${raw}`, { headers: { cookie } }));
      }
    }

    const traversal = [
      "/static/../deno.json",
      "/static/%2e%2e/deno.json",
      "/static/%2e%2e%2fdeno.json",
      "/static/..%2f..%2fetc%2fpasswd",
      "/static/%252e%252e/deno.json",
      "/static/.env",
      "/static/vendor/..%5c..%5cdeno.json",
      "/static/%00",
      "/static/a%00b.js",
      "/static/%ZZ",
      "/static/%",
      `/static/${"a".repeat(5000)}`,
      "/static/%C0%AE%C0%AE/deno.json",
      "/static//etc/passwd",
      "/static/file:///etc/passwd",
      "/static/http://example.com/x.js",
      "/static/vendor/",
      "/static/islands",
    ];
    for (const path of traversal) {
      collect(await noServerError(`${t.url}${path}`));
      const res = await fetch(`${t.url}${path}`);
      const text = await res.text();
      assert.ok(!text.includes('"nodeModulesDir"') && !text.includes("root:x:0:0"), `${path} leaked a file`);
    }
    assert.deepEqual(problems, [], `${problems.length} requests answered 5xx:\n${problems.join("\n")}`);
  }));

Deno.test("odd credentials answer 401, never 500", () =>
  withHub(async (t) => {
    const cases: Array<[string, Record<string, string>]> = [
      ["10 KB bearer token", { authorization: `Bearer ${"a".repeat(10_240)}` }],
      ["non-ASCII bearer token", { authorization: `Bearer ${encodeURIComponent("токен😀").repeat(4)}` }],
      ["latin-1 bearer token", {
        authorization:
          "Bearer shz_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
      }],
      ["empty bearer", { authorization: "Bearer " }],
      ["basic auth", { authorization: "Basic Zm9vOmJhcg==" }],
      ["two tokens", { authorization: "Bearer a b" }],
      ["garbage session cookie", { cookie: "shlyuz_session=garbage" }],
      ["long session cookie", { cookie: `shlyuz_session=${"a".repeat(10_000)}` }],
      ["well-formed but unknown session", { cookie: "shlyuz_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }],
      ["percent garbage cookie", { cookie: "shlyuz_session=%ZZ%00" }],
      ["cookie without a value", { cookie: "shlyuz_session" }],
    ];
    for (const [label, headers] of cases) {
      for (const [method, path] of [["GET", "/api/v1/me"], ["POST", "/api/v1/events"], ["POST", "/"]]) {
        const res = await fetch(`${t.url}${path}`, {
          method,
          headers: { ...headers, "content-type": "application/json" },
          body: method === "POST" ? "{}" : undefined,
        });
        const body = await res.json();
        assert.equal(res.status, 401, `${label}: ${method} ${path} → ${res.status} ${JSON.stringify(body)}`);
        assert.equal(body.error.code, "unauthorized", label);
      }
    }
    // A non-ASCII byte in a header value cannot be sent with fetch: send it raw.
    const raw = await rawRequest(t.url, "GET /api/v1/me HTTP/1.1", [
      "Authorization: Bearer shz_\xff\xfe\xfd_токен_0123456789abcdef",
    ]);
    assert.match(raw, /^HTTP\/1\.1 4\d\d/, `raw non-ASCII token: ${raw.slice(0, 100)}`);
    const rawId = await rawRequest(t.url, "GET /api/v1/me HTTP/1.1", [
      `Authorization: Bearer ${t.ownerToken}`,
      "X-Request-Id: \xff😀\u0000x",
    ]);
    assert.match(rawId, /^HTTP\/1\.1 [24]\d\d/, `raw odd request id: ${rawId.slice(0, 100)}`);
    const rawCookie = await rawRequest(t.url, "GET /admin/events HTTP/1.1", ["Cookie: shlyuz_session=\xff\xfe😀"]);
    assert.match(rawCookie, /^HTTP\/1\.1 (3\d\d|4\d\d)/, `raw non-ASCII cookie: ${rawCookie.slice(0, 100)}`);
  }));

Deno.test("each 5xx found by the sweep now answers a 4xx naming the field", () =>
  withHub(async (t) => {
    const field = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const res = await t.api(path, init);
      const body = await res.json();
      return { status: res.status, fields: (body.error?.details ?? []).map((d: { field: string }) => d.field) };
    };
    for (const path of ["/api/v1/audit", "/api/v1/dead-letters", "/api/v1/schedules/01HZZZZZZZZZZZZZZZZZZZZZZZ/runs"]) {
      for (const cursor of ["garbage", "%F0%9F%98%80", "x".repeat(3000)]) {
        assert.deepEqual(await field(`${path}?cursor=${cursor}`), { status: 422, fields: ["cursor"] }, path);
      }
    }
    assert.deepEqual(await field("/api/v1/results?after=%F0%9F%98%80"), { status: 422, fields: ["after"] });
    assert.deepEqual(await field("/api/v1/rows?cursor=99999999999999999999"), { status: 422, fields: ["cursor"] });
    assert.deepEqual(await field("/api/v1/events?after=garbage"), { status: 422, fields: ["after"] });
    assert.deepEqual(await field(`/api/v1/tokens/${"x".repeat(3000)}`, { method: "DELETE" }), {
      status: 422,
      fields: ["id"],
    });
    assert.deepEqual(await field(`/api/v1/members/${"x".repeat(3000)}`, { method: "DELETE" }), {
      status: 422,
      fields: ["userId"],
    });
    assert.deepEqual(
      await field("/api/v1/enrichment/settings/dadata", { method: "PUT", json: { apiKey: "k".repeat(100_000) } }),
      { status: 422, fields: ["apiKey"] },
    );
    assert.deepEqual(await field("/api/v1/onec/settings", { method: "PUT", json: { bogus: 1 } }), {
      status: 422,
      fields: ["bogus"],
    });
    assert.deepEqual(
      await field("/api/v1/tasks", { method: "POST", json: { task_id: 1, task_type: "phone", data: "a\u0000b" } }),
      { status: 422, fields: ["data"] },
    );

    // Real cursors still page on.
    for (
      let i = 0;
      i < 3;
      i++
    ) (await t.api("/api/v1/tokens", { method: "POST", json: { name: `t${i}`, role: "viewer" } })).body?.cancel();
    const first = await (await t.api("/api/v1/audit?limit=2")).json();
    assert.ok(first.cursor, "a full page carries a cursor");
    const second = await t.api(`/api/v1/audit?limit=2&cursor=${encodeURIComponent(first.cursor)}`);
    assert.equal(second.status, 200);
    assert.ok((await second.json()).items.length > 0);

    const traversal = await fetch(`${t.url}/static/%252e%252e/deno.json`);
    assert.equal(traversal.status, 404);
    await traversal.body?.cancel();
    const form = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      body: "garbage",
      headers: { "content-type": "multipart/form-data; boundary=b" },
    });
    assert.equal(form.status, 400);
    assert.equal((await form.json()).error.code, "invalid_form");
    const setup = await fetch(`${t.url}/admin/setup/${"x".repeat(3000)}`);
    assert.equal(setup.status, 404);
    await setup.body?.cancel();
  }));
