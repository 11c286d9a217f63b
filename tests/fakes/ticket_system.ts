/**
 * A fake of the trouble-ticket system (TTM) the connector agent queries. No
 * public reference exists for it (/work/shared/reference has none); the API
 * modelled here is the one the replaced service's clients used, as the agent's
 * HTTP adapter expects it — guesses are marked GUESS:
 *
 * - `POST /api/auth/login {email, password}` → 200 `{token, expires_in}` and
 *   `Set-Cookie: session=<token>`; 401 `{error}` for wrong credentials;
 * - sessions expire after `sessionTtlMs` (by the fake's clock): then 401;
 * - `GET /api/filters/{key}/tickets?page=N&per_page=M` (bearer token or the
 *   session cookie) → `{items, page, pages, total}`; per_page at most 100
 *   (GUESS: larger values are clamped); 404 for an unknown filter;
 * - above `rps` requests per second per session → 429 with `Retry-After: 1`;
 * - `faults.failNext` / `forceStatus` make the next calls answer 5xx.
 *
 * Saved filters: `arrears` = open, not paused, past `sla_deadline`; `stopped`
 * = open and paused. Tickets change at run time (`upsert`, `transfer`,
 * `pause`, `close`) and time is the fake's own clock (`advance`), so tests
 * and the demo can make tickets cross their SLA on demand.
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";

export interface FakeTicket {
  number: string;
  subject: string;
  state: "open" | "in_progress" | "paused" | "closed";
  priority: string;
  group: string;
  executor: { name: string } | null;
  created_at: string;
  sla_deadline: string | null;
  paused_at: string | null;
  delay_reason: string | null;
  transfers: Array<{ group: string; at: string }>;
}

export interface TicketSystemFakeOptions {
  users?: Array<{ email: string; password: string }>;
  /** Saved filter keys → which filter. Default `{"f-arrears": "arrears", "f-stopped": "stopped"}`. */
  filters?: Record<string, "arrears" | "stopped">;
  sessionTtlMs?: number;
  /** Requests per second per session before 429; 0 = unlimited. */
  rps?: number;
  /** Start of the fake's clock (ms); it moves with real time plus `advance()`. */
  now?: number;
  port?: number;
}

export interface TicketSystemFake {
  url: string;
  tickets: Map<string, FakeTicket>;
  state: {
    logins: number;
    failedLogins: number;
    requests: number;
    pagesServed: number;
    expiredSessions: number;
    rateLimited: number;
    faults: { failNext: number; failNextStatus: number; forceStatus: number | null };
  };
  now(): number;
  /** Moves the fake's clock forward. */
  advance(ms: number): void;
  /** Ends every session (the next call answers 401). */
  expireSessions(): void;
  upsert(t: Partial<FakeTicket> & { number: string }): FakeTicket;
  transfer(number: string, group: string): void;
  pause(number: string, reason?: string): void;
  resume(number: string): void;
  close(number: string): void;
  shutdown(): Promise<void>;
}

export const FAKE_USER = { email: "agent@ttm.local", password: "ttm-password" };

export function startTicketSystemFake(
  {
    users = [FAKE_USER],
    filters = { "f-arrears": "arrears", "f-stopped": "stopped" },
    sessionTtlMs = 30 * 60_000,
    rps = 0,
    now: start = Date.now(),
    port = 0,
  }: TicketSystemFakeOptions = {},
): Promise<TicketSystemFake> {
  let offset = start - Date.now();
  const now = () => Date.now() + offset;
  const iso = (ms = now()) => new Date(ms).toISOString();
  const sessions = new Map<string, { email: string; expiresAt: number; second: number; inSecond: number }>();
  const tickets = new Map<string, FakeTicket>();
  const state: TicketSystemFake["state"] = {
    logins: 0,
    failedLogins: 0,
    requests: 0,
    pagesServed: 0,
    expiredSessions: 0,
    rateLimited: 0,
    faults: { failNext: 0, failNextStatus: 503, forceStatus: null },
  };

  const matches = (t: FakeTicket, kind: "arrears" | "stopped") => {
    if (t.state === "closed") return false;
    if (kind === "stopped") return t.state === "paused";
    return t.state !== "paused" && t.sla_deadline !== null && Date.parse(t.sla_deadline) < now();
  };

  const app = new Hono();
  app.use("*", async (c, next) => {
    state.requests++;
    if (state.faults.forceStatus) return c.json({ error: "forced failure" }, state.faults.forceStatus as 500);
    if (state.faults.failNext > 0) {
      state.faults.failNext--;
      if (state.faults.failNextStatus === 429) c.header("retry-after", "1");
      return c.json({ error: "temporary failure" }, state.faults.failNextStatus as 500);
    }
    await next();
  });

  app.post("/api/auth/login", async (c) => {
    const body = await c.req.json().catch(() => null) as { email?: unknown; password?: unknown } | null;
    if (!body || typeof body.email !== "string" || typeof body.password !== "string") {
      return c.json({ error: "email and password are required" }, 400);
    }
    const user = users.find((u) => u.email === body.email && u.password === body.password);
    if (!user) {
      state.failedLogins++;
      return c.json({ error: "invalid credentials" }, 401);
    }
    state.logins++;
    const token = crypto.randomUUID();
    sessions.set(token, { email: user.email, expiresAt: now() + sessionTtlMs, second: 0, inSecond: 0 });
    c.header("set-cookie", `session=${token}; Path=/; HttpOnly`);
    return c.json({ token, expires_in: Math.floor(sessionTtlMs / 1000) });
  });

  app.get("/api/filters/:key/tickets", (c) => {
    const auth = c.req.header("authorization");
    const token = auth?.startsWith("Bearer ") ? auth.slice(7) : getCookie(c, "session");
    const session = token ? sessions.get(token) : undefined;
    if (!session) return c.json({ error: "not authenticated" }, 401);
    if (session.expiresAt <= now()) {
      sessions.delete(token!);
      state.expiredSessions++;
      return c.json({ error: "session expired" }, 401);
    }
    if (rps > 0) {
      const second = Math.floor(Date.now() / 1000);
      if (second !== session.second) {
        session.second = second;
        session.inSecond = 0;
      }
      if (++session.inSecond > rps) {
        state.rateLimited++;
        c.header("retry-after", "1");
        return c.json({ error: "too many requests" }, 429);
      }
    }
    const kind = filters[c.req.param("key")];
    if (!kind) return c.json({ error: "filter not found" }, 404);
    const perPage = Math.min(100, Math.max(1, Number(c.req.query("per_page") ?? 20) || 20));
    const page = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
    const all = [...tickets.values()].filter((t) => matches(t, kind)).sort((a, b) => a.number.localeCompare(b.number));
    const pages = Math.max(1, Math.ceil(all.length / perPage));
    state.pagesServed++;
    return c.json({ items: all.slice((page - 1) * perPage, page * perPage), page, pages, total: all.length });
  });

  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, app.fetch);
  const get = (n: string) => {
    const t = tickets.get(n);
    if (!t) throw new Error(`fake ticket system: no ticket ${n}`);
    return t;
  };
  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}`,
    tickets,
    state,
    now,
    advance(ms) {
      offset += ms;
    },
    expireSessions() {
      for (const s of sessions.values()) s.expiresAt = 0;
    },
    upsert(t) {
      const cur = tickets.get(t.number);
      const created = t.created_at ?? cur?.created_at ?? iso();
      const group = t.group ?? cur?.group ?? "Первая линия";
      const next: FakeTicket = {
        subject: "Обращение",
        state: "open",
        priority: "normal",
        executor: null,
        sla_deadline: null,
        paused_at: null,
        delay_reason: null,
        transfers: [{ group, at: created }],
        ...cur,
        ...t,
        group,
        created_at: created,
      };
      tickets.set(t.number, next);
      return next;
    },
    transfer(number, group) {
      const t = get(number);
      t.group = group;
      t.transfers = [...t.transfers, { group, at: iso() }];
    },
    pause(number, reason) {
      const t = get(number);
      t.state = "paused";
      t.paused_at = iso();
      if (reason) t.delay_reason = reason;
    },
    resume(number) {
      const t = get(number);
      t.state = "in_progress";
      t.paused_at = null;
    },
    close(number) {
      get(number).state = "closed";
    },
    async shutdown() {
      await server.shutdown();
    },
  });
}
