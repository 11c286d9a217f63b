/**
 * Robustness sweep: every operation in /openapi.json, and the HTML routes
 * outside it, gets malformed input with valid credentials. Bad input must
 * answer a 4xx in the error shape naming the field — never a 5xx.
 */
import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import { onecRequestSchema } from "../../lib/onec/request_schema.ts";
import { taskSchema } from "../../lib/enrichment/task_schema.ts";

const OWNER_EMAIL = "owner@example.com";
const OWNER_PASSWORD = "correct horse battery";

/** No test reaches the internet: every upstream call fails fast. */
const offlineFetch = (_input: RequestInfo | URL, _init?: RequestInit) =>
  Promise.resolve(new Response("upstream is offline in this test", { status: 503 }));

// deno-lint-ignore no-explicit-any
type Schema = any;

interface Operation {
  method: string;
  path: string;
  params: Array<{ in: string; name: string; schema: Schema }>;
  body?: Schema;
}

interface Probe {
  label: string;
  path: string;
  init: RequestInit;
}

/** Operations whose success answers keep 1C's old format (the 422 still uses ours). */
const ONEC_COMPAT = new Set(["POST /", "POST /api/v1/onec/tasks"]);
/**
 * Operations that call an upstream (offline here) may answer their documented
 * 5xx — but only for a body their own schema accepts: that is not bad input.
 */
const UPSTREAM: Record<string, { statuses: number[]; accepts: (body: unknown) => boolean }> = {
  "POST /": { statuses: [500], accepts: (b) => onecRequestSchema.safeParse(b).success },
  "POST /api/v1/onec/tasks": { statuses: [500], accepts: (b) => onecRequestSchema.safeParse(b).success },
  "POST /api/v1/tasks": { statuses: [502, 503], accepts: (b) => taskSchema.safeParse(b).success },
};
/** The live stream answers `text/event-stream`, not JSON. */
const SSE = new Set(["GET /api/v1/events"]);

const HUGE = "x".repeat(100_000);
const WEIRD_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "😀".repeat(500),
  "\u202e\u0301\ud800",
  "x".repeat(3000),
  HUGE,
  "../../etc/passwd",
  "__proto__",
  "<script>alert(1)</script>",
];
const WRONG_TYPES: unknown[] = [null, 0, -1, 1.5, 1e308, true, [], {}, [1, "a"], { nested: { deep: [null] } }];
const GARBAGE_PATH_PARAMS = [
  "garbage",
  "0",
  "-1",
  "1.5",
  "1e999",
  "99999999999999999999999999",
  "x".repeat(3000),
  "..",
  "%2e%2e",
  "..%2F..%2Fetc%2Fpasswd",
  "%00",
  "a%00b",
  "%F0%9F%98%80",
  "%ZZ",
  "%",
  "%C0%AF",
  "%E2%80%AE",
  "__proto__",
  "constructor",
];
const GARBAGE_QUERY = [
  "-1",
  "0",
  "abc",
  "1.5",
  "1e999",
  "99999999999999999999",
  "",
  "%00",
  "%ZZ",
  "garbage",
  "AAAAAAAAAAAAAAAA",
  "eyJ4IjoxfQ",
  "x".repeat(3000),
  "%F0%9F%98%80",
];

function resolve(doc: Schema, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; s?.$ref && i < 20; i++) s = doc.components.schemas[s.$ref.split("/").pop()];
  return s ?? {};
}

/** A plausible value for a schema (not always valid: it is a starting point for mutations). */
function sample(doc: Schema, schema: Schema, depth = 0): unknown {
  const s = resolve(doc, schema);
  if (depth > 6) return null;
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  const alt = s.anyOf ?? s.oneOf;
  if (alt) return sample(doc, alt[0], depth + 1);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((x: Schema) => sample(doc, x, depth + 1)));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) out[k] = sample(doc, v, depth + 1);
      return out;
    }
    case "array":
      return [sample(doc, s.items ?? {}, depth + 1)];
    case "integer":
    case "number":
      return s.minimum ?? 1;
    case "boolean":
      return true;
    case "string":
      if (s.format === "email") return "someone@example.com";
      if (s.format === "uri") return "https://example.com/";
      return "x".repeat(Math.max(1, s.minLength ?? 1));
    default:
      return "x";
  }
}

function operations(doc: Schema): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(ops)) {
      out.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p: Schema) => ({ in: p.in, name: p.name, schema: p.schema })),
        body: op.requestBody?.content?.["application/json"]?.schema,
      });
    }
  }
  return out;
}

/** The path with plausible values (an enum's first value, 1 for integers, an unknown id), one of them overridden. */
function fillPath(op: Operation, override?: { name: string; raw: string }): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name) => {
    if (override && override.name === name) return override.raw;
    const schema = op.params.find((p) => p.in === "path" && p.name === name)?.schema ?? {};
    if (schema.enum) return schema.enum[0];
    if (schema.type === "integer" || schema.type === "number") return "1";
    return "01HZZZZZZZZZZZZZZZZZZZZZZZ";
  });
}

function json(body: unknown): RequestInit {
  return { body: JSON.stringify(body), headers: { "content-type": "application/json" } };
}

/** The malformed requests for one operation. */
function probes(doc: Schema, op: Operation): Probe[] {
  const out: Probe[] = [];
  const basePath = fillPath(op);
  const base = op.body !== undefined ? sample(doc, op.body) : undefined;
  const add = (label: string, path: string, init: RequestInit = {}) => out.push({ label, path, init });

  for (const p of op.params.filter((p) => p.in === "path")) {
    for (const raw of GARBAGE_PATH_PARAMS) {
      add(`path ${p.name}=${raw.slice(0, 40)}`, fillPath(op, { name: p.name, raw }), base ? json(base) : {});
    }
  }
  for (const p of op.params.filter((p) => p.in === "query")) {
    for (const raw of GARBAGE_QUERY) {
      add(`query ${p.name}=${raw.slice(0, 40)}`, `${basePath}?${p.name}=${raw}`);
    }
    add(`query ${p.name} twice`, `${basePath}?${p.name}=1&${p.name}=2`);
  }
  for (const p of op.params.filter((p) => p.in === "header")) {
    for (const raw of ["garbage", "-1", "x".repeat(3000), "respond-async, wait=abc", "wait=-5", "wait=1e999"]) {
      add(`header ${p.name}=${raw.slice(0, 40)}`, basePath, {
        ...(base !== undefined ? json(base) : {}),
        headers: { ...(base !== undefined ? { "content-type": "application/json" } : {}), [p.name]: raw },
      });
    }
  }
  if (op.method === "GET" || op.method === "HEAD") return out;

  const raw = (label: string, body: string, type?: string) =>
    add(label, basePath, { body, headers: type ? { "content-type": type } : {} });
  raw("invalid JSON", "{not json", "application/json");
  raw("truncated JSON", '{"a":', "application/json");
  raw("empty body with JSON type", "", "application/json");
  raw("empty body, no type", "");
  raw("JSON with a NUL byte outside strings", '{"a":1}\u0000', "application/json");
  raw("deeply nested JSON", "[".repeat(5000) + "]".repeat(5000), "application/json");
  raw("text/plain body", JSON.stringify(base ?? {}), "text/plain");
  raw("form body", "a=1&b=%00&name=x", "application/x-www-form-urlencoded");
  raw(
    "multipart body",
    '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n',
    "multipart/form-data; boundary=b",
  );
  raw("broken multipart body", "garbage", "multipart/form-data; boundary=b");
  raw("JSON with a charset nobody knows", JSON.stringify(base ?? {}), "application/json; charset=ebcdic");
  for (const v of [[], "str", 42, null, true, [base]]) {
    add(`JSON ${JSON.stringify(v)?.slice(0, 30)}`, basePath, json(v));
  }

  const schema = op.body !== undefined ? resolve(doc, op.body) : undefined;
  if (schema && base && typeof base === "object" && !Array.isArray(base)) {
    const obj = base as Record<string, unknown>;
    add("valid-looking body with extra fields", basePath, json({ ...obj, extra: 1, __proto__x: { a: 1 } }));
    add("__proto__ key", basePath, {
      body: `{"__proto__":{"polluted":true}}`,
      headers: { "content-type": "application/json" },
    });
    add("empty object", basePath, json({}));
    // A free-form body (a record) gets a few likely and unlikely field names.
    const keys = schema.properties
      ? Object.keys(schema.properties)
      : ["name", "apiKey", "webhookUrl", "k".repeat(3000)];
    for (const k of keys) {
      const { [k]: _, ...without } = obj;
      add(`missing ${k}`, basePath, json(without));
      for (const v of [...WRONG_TYPES, ...WEIRD_STRINGS]) {
        add(`${k}=${JSON.stringify(v).slice(0, 40)}`, basePath, json({ ...obj, [k]: v }));
      }
      // One level deeper, where a field is itself an object or an array of objects.
      const inner = obj[k];
      const innerObj = Array.isArray(inner) ? inner[0] : inner;
      if (innerObj && typeof innerObj === "object" && !Array.isArray(innerObj)) {
        for (const ik of Object.keys(innerObj)) {
          for (const v of [null, 0, [], {}, "\u0000", "x".repeat(3000), HUGE]) {
            const changed = { ...innerObj, [ik]: v };
            add(
              `${k}.${ik}=${JSON.stringify(v).slice(0, 30)}`,
              basePath,
              json({ ...obj, [k]: Array.isArray(inner) ? [changed] : changed }),
            );
          }
        }
      }
    }
  } else if (schema) {
    add("empty object", basePath, json({}));
    for (const v of [...WRONG_TYPES, ...WEIRD_STRINGS]) {
      add(`body=${JSON.stringify(v).slice(0, 40)}`, basePath, json(v));
    }
  }
  return out;
}

interface Expect {
  errorShape: boolean;
  sse?: boolean;
  upstream?: { statuses: number[]; accepts: (body: unknown) => boolean };
}

function jsonOf(init: RequestInit): unknown {
  try {
    return JSON.parse(String(init.body));
  } catch {
    return undefined;
  }
}

/** Sends one probe and returns a problem description, or null when the answer is acceptable. */
async function check(url: string, probe: Probe, method: string, token: string, expect: Expect): Promise<string | null> {
  const headers = new Headers(probe.init.headers);
  headers.set("authorization", `Bearer ${token}`);
  const ctrl = new AbortController();
  let res: Response;
  try {
    res = await fetch(url + probe.path, { ...probe.init, method, headers, signal: ctrl.signal });
  } catch (e) {
    // A path fetch itself refuses to send is not the server's fault.
    if (e instanceof TypeError && /invalid url|url/i.test(String(e))) return null;
    return `request failed: ${e}`;
  }
  const type = res.headers.get("content-type") ?? "";
  if (expect.sse && type.startsWith("text/event-stream")) {
    ctrl.abort();
    await res.body?.cancel().catch(() => {});
    return res.status >= 500 ? `${res.status} (stream)` : null;
  }
  const text = await res.text();
  const upstreamFailure = expect.upstream?.statuses.includes(res.status) && expect.upstream.accepts(jsonOf(probe.init));
  if (res.status >= 500 && !upstreamFailure) return `${res.status}: ${text.slice(0, 300)}`;
  if (res.status < 400) return null;
  if (!expect.errorShape && res.status !== 422) return null;
  let body: Schema;
  try {
    body = JSON.parse(text);
  } catch {
    return `${res.status} is not JSON: ${text.slice(0, 200)}`;
  }
  const err = body?.error;
  if (!err || typeof err.code !== "string" || typeof err.message !== "string") {
    return `${res.status} not in the error shape: ${text.slice(0, 200)}`;
  }
  if (res.status === 422) {
    const fields = Array.isArray(err.details) ? err.details.map((d: Schema) => d?.field) : [];
    if (!fields.length || !fields.every((f: unknown) => typeof f === "string" && f.length > 0)) {
      return `422 without field names in details: ${text.slice(0, 200)}`;
    }
  }
  return null;
}

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

/** Sends one request; returns a problem when it answered 5xx or the request itself failed. */
async function noServerError(url: string, init: RequestInit = {}, label = ""): Promise<string | null> {
  const what = `${init.method ?? "GET"} ${url.replace(/^http:\/\/[^/]+/, "").slice(0, 120)}${
    label ? ` [${label}]` : ""
  }`;
  try {
    const res = await fetch(url, { redirect: "manual", ...init });
    const text = await res.text();
    return res.status >= 500 ? `${what} → ${res.status}: ${text.slice(0, 200)}` : null;
  } catch (e) {
    if (e instanceof TypeError && /url/i.test(String(e))) return null;
    return `${what} → request failed: ${e}`;
  }
}

const FORM_BODIES: Array<{ label: string; body: string; type?: string }> = [
  { label: "empty", body: "" },
  { label: "garbage", body: "%%%&&&===", type: "application/x-www-form-urlencoded" },
  { label: "NUL", body: "email=%00&password=%00&org=%00&next=%00", type: "application/x-www-form-urlencoded" },
  { label: "bad percent", body: "email=%ZZ&password=%E0%A4%A", type: "application/x-www-form-urlencoded" },
  { label: "arrays", body: "email=a&email=b&password[]=x&org[a]=1", type: "application/x-www-form-urlencoded" },
  {
    label: "huge",
    body: `email=${"a".repeat(200_000)}&password=${"b".repeat(200_000)}`,
    type: "application/x-www-form-urlencoded",
  },
  {
    label: "emoji",
    body: `email=${encodeURIComponent("😀@😀.😀")}&password=${encodeURIComponent("😀".repeat(20))}&org=${
      encodeURIComponent("😀")
    }`,
    type: "application/x-www-form-urlencoded",
  },
  { label: "JSON", body: '{"email":"a@b.c","password":"x"}', type: "application/json" },
  { label: "broken JSON", body: "{not json", type: "application/json" },
  { label: "broken multipart", body: "garbage", type: "multipart/form-data; boundary=b" },
  { label: "multipart without boundary", body: "garbage", type: "multipart/form-data" },
  { label: "text/plain", body: "email=a", type: "text/plain" },
];

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

/** One HTTP/1.1 request written byte by byte (UTF-8), for header values fetch refuses. */
async function rawRequest(url: string, requestLine: string, headers: string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const text = [requestLine, `Host: ${hostname}`, ...headers, "Connection: close", "", ""].join("\r\n");
    await conn.write(new TextEncoder().encode(text));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(16_384);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    conn.close();
  }
}

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
