/**
 * The request generator of the robustness sweep: malformed variants of every
 * OpenAPI operation, the checks each answer must pass, and raw-socket helpers.
 */
import { onecRequestSchema } from "../../lib/onec/request_schema.ts";
import { TOKEN_PATTERN } from "../../lib/notify/telegram.ts";
import { taskSchema } from "../../lib/enrichment/task_schema.ts";

// deno-lint-ignore no-explicit-any
export type Schema = any;

export interface Operation {
  method: string;
  path: string;
  params: Array<{ in: string; name: string; schema: Schema }>;
  body?: Schema;
}

export interface Probe {
  label: string;
  path: string;
  init: RequestInit;
}

/** Operations whose success answers keep 1C's old format (the 422 still uses ours). */
export const ONEC_COMPAT = new Set(["POST /", "POST /api/v1/onec/tasks"]);
/**
 * Operations that call an upstream (offline here) may answer their documented
 * 5xx — but only for a body their own schema accepts: that is not bad input.
 */
export const UPSTREAM: Record<string, { statuses: number[]; accepts: (body: unknown) => boolean }> = {
  "POST /": { statuses: [500], accepts: (b) => onecRequestSchema.safeParse(b).success },
  "POST /api/v1/onec/tasks": { statuses: [500], accepts: (b) => onecRequestSchema.safeParse(b).success },
  "POST /api/v1/tasks": { statuses: [502, 503], accepts: (b) => taskSchema.safeParse(b).success },
  // A well-formed bot token is checked with Telegram's getMe: offline, that is the gateway's answer.
  "POST /api/v1/bots": {
    statuses: [503],
    accepts: (b) => TOKEN_PATTERN.test(String((b as { token?: unknown } | null)?.token ?? "").trim()),
  },
};
/** The live stream answers `text/event-stream`, not JSON. */
export const SSE = new Set(["GET /api/v1/events"]);

export const HUGE = "x".repeat(100_000);
export const WEIRD_STRINGS = [
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
export const WRONG_TYPES: unknown[] = [null, 0, -1, 1.5, 1e308, true, [], {}, [1, "a"], { nested: { deep: [null] } }];
export const GARBAGE_PATH_PARAMS = [
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
export const GARBAGE_QUERY = [
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

export function resolve(doc: Schema, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; s?.$ref && i < 20; i++) s = doc.components.schemas[s.$ref.split("/").pop()];
  return s ?? {};
}

/** A plausible value for a schema (not always valid: it is a starting point for mutations). */
export function sample(doc: Schema, schema: Schema, depth = 0): unknown {
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

export function operations(doc: Schema): Operation[] {
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
export function fillPath(op: Operation, override?: { name: string; raw: string }): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name) => {
    if (override && override.name === name) return override.raw;
    const schema = op.params.find((p) => p.in === "path" && p.name === name)?.schema ?? {};
    if (schema.enum) return schema.enum[0];
    if (schema.type === "integer" || schema.type === "number") return "1";
    return "01HZZZZZZZZZZZZZZZZZZZZZZZ";
  });
}

export function json(body: unknown): RequestInit {
  return { body: JSON.stringify(body), headers: { "content-type": "application/json" } };
}

/** The malformed requests for one operation. */
export function probes(doc: Schema, op: Operation): Probe[] {
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

export interface Expect {
  errorShape: boolean;
  sse?: boolean;
  upstream?: { statuses: number[]; accepts: (body: unknown) => boolean };
}

export function jsonOf(init: RequestInit): unknown {
  try {
    return JSON.parse(String(init.body));
  } catch {
    return undefined;
  }
}

/** Sends one probe and returns a problem description, or null when the answer is acceptable. */
export async function check(
  url: string,
  probe: Probe,
  method: string,
  token: string,
  expect: Expect,
): Promise<string | null> {
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

/** Sends one request; returns a problem when it answered 5xx or the request itself failed. */
export async function noServerError(url: string, init: RequestInit = {}, label = ""): Promise<string | null> {
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

export const FORM_BODIES: Array<{ label: string; body: string; type?: string }> = [
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

/** One HTTP/1.1 request written byte by byte (UTF-8), for header values fetch refuses. */
export async function rawRequest(url: string, requestLine: string, headers: string[]): Promise<string> {
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
