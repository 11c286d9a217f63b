/**
 * A fake of DaData's clean API (phone, email), faithful to
 * /work/shared/reference/dadata.md: `Authorization: Token` + `X-Secret`
 * (401 when missing, 403 when wrong), 405 on GET, 400 on bad JSON or an array
 * that is not exactly one string, 429 above `rps`, a one-element array with
 * every key present. Faults (5xx, hangs, malformed bodies, 429s, latency) are
 * switchable at run time through `state.faults`.
 */
import { Hono } from "hono";
import { defaultFaults, type FaultSwitches, pickFault, serve, sleep } from "./_fault.ts";

export interface DadataFakeOptions {
  apiKey?: string;
  secretKey?: string;
  /** Requests per second before 429 (DaData: 20 per IP). 0 = unlimited. Default 0. */
  rps?: number;
  port?: number;
  random?: () => number;
  faults?: Partial<FaultSwitches>;
}

export interface DadataFakeState {
  calls: number;
  byKind: Record<string, number>;
  /** Sources of successful answers, to count upstream calls per task. */
  answered: string[];
  /** Headers of every call (to check which credentials reached the fake). */
  headers: Headers[];
  faults: FaultSwitches;
}

const err = (status: number, reason: string, message: string) =>
  Response.json({ family: status >= 500 ? "SERVER_ERROR" : "CLIENT_ERROR", reason, message }, { status });

/** Starts the fake on 127.0.0.1. */
export function startDadataFake(
  { apiKey = "test-dadata-key", secretKey = "test-dadata-secret", rps = 0, port = 0, random = Math.random, faults }:
    DadataFakeOptions = {},
): Promise<{ url: string; state: DadataFakeState; close(): Promise<void> }> {
  const state: DadataFakeState = {
    calls: 0,
    byKind: {},
    answered: [],
    headers: [],
    faults: { ...defaultFaults(), ...faults },
  };
  const closing = new AbortController();
  let second = 0;
  let inSecond = 0;
  const app = new Hono();
  app.all("/api/v1/clean/:kind", async (c) => {
    state.calls++;
    state.headers.push(new Headers(c.req.raw.headers));
    const kind = c.req.param("kind");
    state.byKind[kind] = (state.byKind[kind] ?? 0) + 1;
    if (c.req.method !== "POST") return err(405, "Method Not Allowed", "Request method must be POST");
    const auth = c.req.header("authorization") ?? "";
    const secret = c.req.header("x-secret");
    if (!auth.startsWith("Token ") || !secret) {
      return err(401, "Unauthorized", "You should provide Authorization header with your api token and X-Secret");
    }
    if (auth !== `Token ${apiKey}` || secret !== secretKey) {
      return err(403, "Forbidden", "Incorrect API key or secret key");
    }
    if (kind !== "phone" && kind !== "email") return err(404, "Not Found", `Unknown clean type ${kind}`);
    if (rps > 0) {
      const now = Math.floor(Date.now() / 1000);
      if (now !== second) [second, inSecond] = [now, 0];
      if (++inSecond > rps) return err(429, "Too Many Requests", "Too many requests per second");
    }
    await sleep(state.faults.latencyMs, closing.signal);
    const fault = pickFault(state.faults, random);
    if (fault.kind === "hang") {
      await sleep(state.faults.hangMs, closing.signal);
      return err(504, "Gateway Timeout", "upstream timeout");
    }
    if (fault.kind === "status") {
      return err(fault.status, fault.status === 429 ? "Too Many Requests" : "Error", `simulated HTTP ${fault.status}`);
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return err(400, "Bad Request", "Invalid JSON");
    }
    if (!Array.isArray(body) || body.length !== 1 || typeof body[0] !== "string") {
      return err(400, "Bad Request", "Request body must be a JSON array with exactly one string");
    }
    if (fault.kind === "malformed") return new Response("<html>502 Bad Gateway</html>", { status: 200 });
    const source = body[0];
    state.answered.push(source);
    return c.json([kind === "phone" ? cleanPhone(source) : cleanEmail(source)]);
  });
  const { url, server } = serve(app.fetch, port);
  return Promise.resolve({
    url,
    state,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  });
}

/** A simplified phone standardizer with DaData's record shape. */
export function cleanPhone(source: string) {
  let digits = source.replace(/\D/g, "");
  const ext = /(доб|\*|ext)\.?\s*(\d+)\s*$/i.exec(source)?.[2] ?? null;
  if (ext && digits.endsWith(ext)) digits = digits.slice(0, -ext.length);
  if (digits.length === 11 && (digits[0] === "8" || digits[0] === "7")) digits = digits.slice(1);
  if (digits.length !== 10) {
    return {
      source,
      type: "Неизвестный",
      phone: null,
      country_code: null,
      city_code: null,
      number: null,
      extension: null,
      provider: null,
      country: null,
      region: null,
      city: null,
      timezone: null,
      qc_conflict: 0,
      qc: digits.length === 0 ? 2 : 1,
    };
  }
  const city = digits.slice(0, 3);
  const num = digits.slice(3);
  const mobile = city.startsWith("9");
  return {
    source,
    type: mobile ? "Мобильный" : "Стационарный",
    phone: `+7 ${city} ${num.slice(0, 3)}-${num.slice(3, 5)}-${num.slice(5)}${ext ? ` доб. ${ext}` : ""}`,
    country_code: "7",
    city_code: city,
    number: num,
    extension: ext,
    provider: mobile ? 'ПАО "Мобильные ТелеСистемы"' : 'ООО "СИПАУТНЭТ"',
    country: "Россия",
    region: mobile ? "Москва" : "Самарская область",
    city: mobile ? "Москва" : "Самара",
    timezone: mobile ? "UTC+3" : "UTC+4",
    qc_conflict: 0,
    qc: 0,
  };
}

/** A simplified e-mail standardizer with DaData's record shape. */
export function cleanEmail(source: string) {
  const fixed = source.trim().toLowerCase().replace(/\/(?=[a-z]+$)/, ".").replace(/\s+/g, "");
  const m = /^([^@\s]+)@([a-z0-9.-]+\.[a-z]{2,})$/.exec(fixed);
  if (!m) {
    return { source, email: null, local: null, domain: null, type: null, qc: fixed ? 1 : 2 };
  }
  const [, local, domain] = m;
  const personal = ["mail.ru", "yandex.ru", "gmail.com", "ya.ru", "bk.ru", "list.ru", "inbox.ru"];
  const type = ["temp-mail.ru", "mailinator.com"].includes(domain)
    ? "DISPOSABLE"
    : ["info", "support", "sales", "admin", "office"].includes(local)
    ? "ROLE"
    : personal.includes(domain)
    ? "PERSONAL"
    : "CORPORATE";
  return {
    source,
    email: fixed,
    local,
    domain,
    type,
    qc: type === "DISPOSABLE" ? 3 : fixed !== source ? 4 : 0,
  };
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 8101);
  const fake = await startDadataFake({ port });
  // deno-lint-ignore no-console
  console.log(`DaData fake on ${fake.url} (Token test-dadata-key, X-Secret test-dadata-secret)`);
}
