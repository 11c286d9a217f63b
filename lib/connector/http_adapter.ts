/**
 * The HTTP ticket-system adapter: logs in with e-mail and password, keeps the
 * session (bearer token and cookie) and logs in again when it expires, runs a
 * saved filter by key following its pages, and maps the system's fields to
 * the normalized ticket through a configurable mapping (dotted paths).
 *
 * Defaults match the REST API of the replaced TTM system as modelled by
 * tests/fakes/ticket_system.ts: `POST /api/auth/login {email, password}` →
 * `{token, expires_in}` (+ `Set-Cookie: session=…`), `GET
 * /api/filters/{key}/tickets?page=N&per_page=M` → `{items, page, pages}`,
 * 401 when the session expired, 429 with Retry-After when throttled.
 *
 * @example
 * const adapter = new HttpTicketAdapter({ baseUrl: URL, email: EMAIL, password: PASSWORD });
 * const { tickets } = await adapter.query({ key: FILTER_ARREARS, limit: 1000 });
 */
import { z } from "zod";
import type { Handoff, Ticket } from "../sla/ticket.ts";
import { ticketSchema } from "../sla/ticket.ts";
import { type TicketAdapter, TicketAuthError, type TicketQuery, TicketSystemError } from "./adapter.ts";

/** Where each normalized field comes from in the system's ticket (dotted paths). */
export const mappingSchema = z.object({
  id: z.string().default("number"),
  title: z.string().default("subject"),
  status: z.string().default("state"),
  priority: z.string().default("priority"),
  department: z.string().default("group"),
  assignee: z.string().default("executor.name"),
  createdAt: z.string().default("created_at"),
  slaDeadline: z.string().default("sla_deadline"),
  suspendedSince: z.string().default("paused_at"),
  reason: z.string().default("delay_reason"),
  /** The hand-off log: a list of `{department, at}` events, each starting a stay. */
  history: z.object({
    path: z.string().default("transfers"),
    department: z.string().default("group"),
    at: z.string().default("at"),
  }).default({ path: "transfers", department: "group", at: "at" }),
});
export type FieldMapping = z.infer<typeof mappingSchema>;

export interface HttpAdapterOptions {
  baseUrl: string;
  email: string;
  password: string;
  mapping?: Partial<FieldMapping>;
  loginPath?: string;
  /** `{key}` is replaced by the filter key. */
  filterPath?: string;
  perPage?: number;
  fetch?: typeof fetch;
  /** Waits, ms, before retrying a 5xx or network failure (attempts = length + 1). */
  retryMs?: number[];
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const pageSchema = z.object({
  items: z.array(z.record(z.string(), z.unknown())),
  page: z.number().int().optional(),
  pages: z.number().int().optional(),
});

function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const str = (v: unknown): string | null => (v === undefined || v === null || v === "" ? null : String(v));
const isoOrNull = (v: unknown): string | null => {
  const s = str(v);
  if (s === null) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
};

/** Maps one of the system's tickets to the normalized shape; throws naming the field that does not fit. */
export function mapTicket(raw: Record<string, unknown>, mapping: FieldMapping): Ticket {
  const events = (get(raw, mapping.history.path) as unknown[] | undefined) ?? [];
  const hops = (Array.isArray(events) ? events : [])
    .map((e) => ({ department: str(get(e, mapping.history.department)), at: isoOrNull(get(e, mapping.history.at)) }))
    .filter((e): e is { department: string; at: string } => e.department !== null && e.at !== null)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const history: Handoff[] = hops.map((h, i) => ({
    department: h.department,
    from: h.at,
    to: hops[i + 1]?.at ?? null,
  }));
  const candidate = {
    id: str(get(raw, mapping.id)) ?? "",
    title: str(get(raw, mapping.title)) ?? "",
    status: str(get(raw, mapping.status)) ?? "",
    priority: str(get(raw, mapping.priority)),
    department: str(get(raw, mapping.department)),
    assignee: str(get(raw, mapping.assignee)),
    createdAt: isoOrNull(get(raw, mapping.createdAt)) ?? "",
    slaDeadline: isoOrNull(get(raw, mapping.slaDeadline)),
    suspendedSince: isoOrNull(get(raw, mapping.suspendedSince)),
    reason: str(get(raw, mapping.reason)),
    history: history.slice(-200),
  };
  const parsed = ticketSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue.path[0] ?? "ticket");
    const from = field in mapping ? ` (mapped from "${(mapping as Record<string, unknown>)[field]}")` : "";
    throw new TicketSystemError(`Cannot map ticket ${candidate.id || "?"}: ${field}${from}: ${issue.message}`, {
      code: "mapping",
    });
  }
  return parsed.data;
}

export class HttpTicketAdapter implements TicketAdapter {
  readonly #o: Required<Omit<HttpAdapterOptions, "mapping">>;
  readonly #mapping: FieldMapping;
  #token: string | null = null;
  #cookie: string | null = null;
  /** The login in progress: concurrent queries share it instead of each logging in. */
  #loggingIn: Promise<void> | null = null;

  constructor(opts: HttpAdapterOptions) {
    this.#o = {
      loginPath: "/api/auth/login",
      filterPath: "/api/filters/{key}/tickets",
      perPage: 100,
      fetch: globalThis.fetch,
      retryMs: [500, 2000],
      sleep: (ms, signal) =>
        new Promise((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          signal?.addEventListener("abort", () => {
            clearTimeout(t);
            reject(signal.reason);
          }, { once: true });
        }),
      ...opts,
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
    };
    this.#mapping = mappingSchema.parse(opts.mapping ?? {});
  }

  /** Logs in (once for concurrent callers); a refusal is a TicketAuthError with the one line the operator needs. */
  login(signal?: AbortSignal): Promise<void> {
    this.#loggingIn ??= this.#login(signal).finally(() => this.#loggingIn = null);
    return this.#loggingIn;
  }

  async #login(signal?: AbortSignal): Promise<void> {
    const res = await this.#send(`${this.#o.baseUrl}${this.#o.loginPath}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ email: this.#o.email, password: this.#o.password }),
      signal,
    });
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new TicketAuthError(`ticket system refused the login for ${this.#o.email}: check EMAIL and PASSWORD`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new TicketSystemError(`ticket system login failed with HTTP ${res.status}`, { status: res.status });
    }
    const body = await res.json().catch(() => ({}));
    this.#token = typeof body?.token === "string" ? body.token : null;
    const setCookie = res.headers.get("set-cookie");
    this.#cookie = setCookie ? setCookie.split(";")[0] : null;
    if (!this.#token && !this.#cookie) {
      throw new TicketSystemError("ticket system login answered without a token or a session cookie");
    }
  }

  async query({ key, limit, signal }: TicketQuery): Promise<{ tickets: Ticket[]; truncated: boolean }> {
    if (!this.#token && !this.#cookie) await this.login(signal);
    else if (this.#loggingIn) await this.#loggingIn;
    const tickets: Ticket[] = [];
    for (let page = 1;; page++) {
      const url = new URL(`${this.#o.baseUrl}${this.#o.filterPath.replace("{key}", encodeURIComponent(key))}`);
      url.searchParams.set("page", String(page));
      url.searchParams.set("per_page", String(this.#o.perPage));
      const body = await this.#getPage(url, signal);
      for (const raw of body.items) {
        if (tickets.length >= limit) return { tickets, truncated: true };
        tickets.push(mapTicket(raw, this.#mapping));
      }
      const pages = body.pages ?? (body.items.length < this.#o.perPage ? page : page + 1);
      if (page >= pages || body.items.length === 0) return { tickets, truncated: false };
    }
  }

  async #getPage(url: URL, signal?: AbortSignal): Promise<z.infer<typeof pageSchema>> {
    let relogged = false;
    for (let attempt = 0;; attempt++) {
      const headers: Record<string, string> = { accept: "application/json" };
      const sentToken = this.#token;
      if (this.#token) headers.authorization = `Bearer ${this.#token}`;
      if (this.#cookie) headers.cookie = this.#cookie;
      const res = await this.#send(url.href, { headers, signal });
      if (res.status === 401 && !relogged) {
        // The session expired: log in again once and repeat the page (unless a concurrent query already did).
        await res.body?.cancel();
        relogged = true;
        if (this.#token === sentToken) {
          this.#token = null;
          this.#cookie = null;
          await this.login(signal);
        } else if (this.#loggingIn) await this.#loggingIn;
        attempt--;
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new TicketAuthError(`ticket system refused the session for ${this.#o.email}: check EMAIL and PASSWORD`);
      }
      if (res.status === 404) {
        await res.body?.cancel();
        throw new TicketSystemError(
          `ticket system has no saved filter ${decodeURIComponent(url.pathname)}: check the filter key`,
          {
            code: "filter_not_found",
            status: 404,
          },
        );
      }
      if (res.status === 429 || res.status >= 500) {
        await res.body?.cancel();
        const waits = this.#o.retryMs;
        if (attempt >= waits.length) {
          throw new TicketSystemError(`ticket system answered HTTP ${res.status} after ${attempt + 1} attempts`, {
            status: res.status,
          });
        }
        const retryAfter = Number(res.headers.get("retry-after"));
        const wait = res.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0
          ? Math.min(retryAfter * 1000, 30_000)
          : waits[attempt];
        await this.#o.sleep(wait, signal);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new TicketSystemError(`ticket system answered HTTP ${res.status}`, { status: res.status });
      }
      const parsed = pageSchema.safeParse(await res.json().catch(() => null));
      if (!parsed.success) throw new TicketSystemError("ticket system answered a page that is not {items: [...]}");
      return parsed.data;
    }
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#o.fetch(url, init);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new TicketSystemError(
        `ticket system unreachable at ${this.#o.baseUrl}: ${error instanceof Error ? error.message : error}`,
        {
          code: "unreachable",
          cause: error,
        },
      );
    }
  }
}
