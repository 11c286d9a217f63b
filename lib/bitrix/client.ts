/**
 * The Bitrix24 inbound-webhook transport: one `call`, `batch` (≤ 50 commands
 * per HTTP request) and `listAll` (page 1 directly, the other pages in one
 * batch). Every HTTP request waits for the portal's shared rate limiter;
 * QUERY_LIMIT_EXCEEDED (503) and OPERATION_TIME_LIMIT (429) are retried with
 * backoff until the caller's deadline. Writes are retried only on those two
 * codes, which Bitrix answers *before* running the method, so a retry can
 * never create a second task.
 */
import { z } from "zod";
import { type Clock, systemClock } from "../clock.ts";
import { excerpt, isTransientError, UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { type FetchFn, parseJsonBody, requestText } from "../http/request.ts";
import { withRetry } from "../http/retry.ts";
import type { ClientOptions, ClientRetry } from "../http/client_options.ts";
import type { AddressPolicy } from "../http/url_guard.ts";
import type { Logger } from "../log.ts";
import { redactText } from "../log.ts";
import {
  BATCH_MAX,
  type BatchCommand,
  type BatchOutcome,
  chunkCommands,
  emptyOutcome,
  encodeCommands,
} from "./batch.ts";
import { RateLimiter, type RateLimitOptions } from "./rate_limiter.ts";
import { batchResult, errorEnvelope, okEnvelope } from "./schemas.ts";

const SERVICE = "Bitrix24";

/** Codes Bitrix answers before it runs the method: always safe to retry. */
export const RATE_LIMIT_CODES = new Set(["QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"]);
const TRANSIENT_CODES = new Set([...RATE_LIMIT_CODES, "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"]);

/** The shared client options (`baseUrl` is the inbound webhook URL `https://portal/rest/USER_ID/CODE/`) and the portal's limiter. */
export interface BitrixClientOptions extends ClientOptions {
  /** Timeout of one HTTP call. Default 30 s (Bitrix cuts requests at 60 s). */
  timeoutMs?: number;
  /** Backoff of retries: base and cap. Defaults 500 ms / 8 s; retries run until the deadline. */
  retry?: ClientRetry;
  /** The portal's shared limiter; a private one is made when absent. */
  limiter?: RateLimiter;
  limits?: RateLimitOptions;
  /** Default deadline (epoch ms) for calls that do not pass their own. */
  deadline?: number;
  /** Called once per HTTP request sent (metrics, benchmarks). */
  onRequest?: (method: string) => void;
}

export interface CallOptions {
  deadline?: number;
  /** A write: retried only on the rate-limit codes. */
  write?: boolean;
  signal?: AbortSignal;
}

export interface CallResult {
  result: unknown;
  total?: number;
  next?: number;
}

/** True for a QUERY_LIMIT_EXCEEDED / OPERATION_TIME_LIMIT answer. */
export function isRateLimited(error: unknown): boolean {
  return error instanceof UpstreamApiError && RATE_LIMIT_CODES.has(error.code);
}

/** Splits a webhook URL into the portal host and the base for method URLs. */
export function parseWebhookUrl(webhookUrl: string): { portal: string; base: string } {
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new TypeError("Bitrix24 webhook URL is not a URL — it looks like https://PORTAL/rest/USER_ID/CODE/");
  }
  if (!/\/rest\/\d+\/[^/]+\/?$/.test(url.pathname)) {
    throw new TypeError("Bitrix24 webhook URL must look like https://PORTAL/rest/USER_ID/CODE/");
  }
  const base = url.origin + url.pathname.replace(/\/?$/, "/");
  return { portal: url.host, base };
}

/** The webhook user's id (the `USER_ID` segment of the URL). */
export function webhookUserId(webhookUrl: string): number {
  return Number(new URL(webhookUrl).pathname.match(/\/rest\/(\d+)\//)?.[1] ?? 0);
}

export class BitrixClient {
  readonly portal: string;
  readonly #base: string;
  readonly #fetch?: FetchFn;
  readonly #policy: AddressPolicy;
  readonly #timeoutMs: number;
  readonly #limiter: RateLimiter;
  readonly #clock: Clock;
  readonly #log?: Logger;
  readonly #deadline?: number;
  readonly #onRequest?: (method: string) => void;
  readonly #backoff: { baseMs: number; maxMs: number };
  readonly #onRetry?: ClientRetry["onRetry"];
  readonly #retries: number;

  constructor(
    {
      baseUrl,
      policy,
      fetch,
      timeoutMs = 30_000,
      limiter,
      limits,
      clock = systemClock,
      log,
      deadline,
      onRequest,
      retry = {},
    }: BitrixClientOptions,
  ) {
    const { portal, base } = parseWebhookUrl(baseUrl);
    this.portal = portal;
    this.#base = base;
    this.#fetch = fetch;
    this.#policy = policy;
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
    this.#limiter = limiter ?? new RateLimiter(limits, clock);
    this.#log = log;
    this.#deadline = deadline;
    this.#onRequest = onRequest;
    this.#backoff = { baseMs: retry.baseMs ?? 500, maxMs: retry.maxMs ?? 8000 };
    this.#onRetry = retry.onRetry;
    // Bitrix24's limits clear within seconds: retry until the deadline rather than a few times.
    this.#retries = retry.retries ?? 50;
  }

  /** Calls one method and returns `{result, total, next}`; throws UpstreamApiError / UpstreamHttpError. */
  call(method: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<CallResult> {
    return this.#withRetry(method, opts, () => this.#send(method, params, opts));
  }

  /** Calls one method and parses its `result` with `schema`. */
  async get<S extends z.ZodType>(
    method: string,
    params: Record<string, unknown>,
    schema: S,
    opts: CallOptions = {},
  ): Promise<z.output<S>> {
    const { result } = await this.call(method, params, opts);
    return parseResult(method, schema, result);
  }

  /**
   * Runs any number of read commands in batch calls of ≤ 50. Sub-request
   * errors come back in `error`; a sub-request hitting OPERATION_TIME_LIMIT
   * makes its chunk retry (reads only: never put writes in here).
   */
  async batch(cmds: Record<string, BatchCommand>, opts: CallOptions = {}): Promise<BatchOutcome> {
    const out = emptyOutcome();
    const chunks = chunkCommands(cmds);
    const answers = await Promise.all(chunks.map((chunk) =>
      this.#withRetry("batch", opts, async () => {
        const { result } = await this.#send("batch", { halt: 0, cmd: encodeCommands(chunk) }, opts);
        const parsed = parseResult("batch", batchResult, result);
        for (const [key, err] of Object.entries(parsed.result_error)) {
          const e = errorEnvelope.safeParse(err);
          if (e.success && RATE_LIMIT_CODES.has(e.data.error)) {
            throw new UpstreamApiError(`Bitrix24 batch command ${key}: ${e.data.error}`, {
              service: SERVICE,
              code: e.data.error,
              status: 429,
              transient: true,
            });
          }
        }
        return parsed;
      })
    ));
    for (const a of answers) {
      Object.assign(out.result, a.result);
      Object.assign(out.total, a.result_total);
      Object.assign(out.next, a.result_next);
      for (const [key, err] of Object.entries(a.result_error)) {
        const e = errorEnvelope.safeParse(err);
        out.error[key] = e.success ? e.data : { error: "UNKNOWN", error_description: excerpt(JSON.stringify(err)) };
      }
    }
    return out;
  }

  /**
   * Reads every page of a list method: the first page directly, the rest in
   * one batch (pages of 50, `start` = offset). `rows` picks the array out of a
   * page's `result` (e.g. `r => r.tasks` for tasks.task.list).
   */
  async listAll(
    method: string,
    params: Record<string, unknown>,
    { rows = (r: unknown) => r as unknown[], ...opts }: CallOptions & { rows?: (result: unknown) => unknown[] } = {},
  ): Promise<unknown[]> {
    const first = await this.call(method, { ...params, start: 0 }, opts);
    const items = [...asArray(method, rows(first.result))];
    if (first.next === undefined || first.total === undefined) return items;
    const cmds: Record<string, BatchCommand> = {};
    for (let start = first.next; start < first.total; start += BATCH_MAX) {
      cmds[`p${start}`] = { method, params: { ...params, start } };
    }
    const rest = await this.batch(cmds, opts);
    for (const key of Object.keys(cmds)) {
      const err = rest.error[key];
      if (err) throw apiError(method, err.error, err.error_description, 400);
      items.push(...asArray(method, rows(rest.result[key])));
    }
    return items;
  }

  /** The portal limiter's queue, for the admin page. */
  limiterStats(): ReturnType<RateLimiter["stats"]> {
    return this.#limiter.stats();
  }

  #withRetry<T>(method: string, opts: CallOptions, fn: () => Promise<T>): Promise<T> {
    const deadline = opts.deadline ?? this.#deadline ?? this.#clock.now() + 60_000;
    return withRetry(fn, {
      retries: this.#retries,
      baseMs: this.#backoff.baseMs,
      maxMs: this.#backoff.maxMs,
      clock: this.#clock,
      deadline,
      signal: opts.signal,
      isRetryable: (e) => opts.write ? isRateLimited(e) : (isRateLimited(e) || isTransientError(e)),
      onRetry: (error, attempt, waitMs) => {
        this.#onRetry?.(error, attempt, waitMs);
        if (error instanceof UpstreamApiError && error.code === "QUERY_LIMIT_EXCEEDED") this.#limiter.penalize();
        this.#log?.debug("Bitrix24 call retried", {
          method,
          attempt,
          waitMs,
          reason: error instanceof Error ? error.message : String(error),
        });
      },
    });
  }

  async #send(method: string, params: Record<string, unknown>, opts: CallOptions): Promise<CallResult> {
    const deadline = opts.deadline ?? this.#deadline;
    await this.#limiter.acquire({ deadline, signal: opts.signal });
    this.#onRequest?.(method);
    const timeoutMs = deadline !== undefined
      ? Math.max(1000, Math.min(this.#timeoutMs, deadline - this.#clock.now()))
      : this.#timeoutMs;
    const raw = await requestText(this.#base + method, {
      service: SERVICE,
      json: params,
      headers: { "user-agent": "shlyuz/1" },
      // The address policy on the webhook URL and on every redirect hop.
      policy: this.#policy,
      fetch: this.#fetch,
      timeoutMs,
      signal: opts.signal,
    });
    const body = parseJsonBody(SERVICE, raw);
    const err = errorEnvelope.safeParse(body);
    if (raw.status !== 200 || (err.success && body && typeof body === "object" && !("result" in body))) {
      if (err.success) throw apiError(method, err.data.error, err.data.error_description, raw.status);
      throw new UpstreamHttpError(
        `Bitrix24 ${method} answered HTTP ${raw.status}: ${excerpt(redactText(raw.text), 200)}`,
        { service: SERVICE, status: raw.status },
      );
    }
    const ok = okEnvelope.safeParse(body);
    if (!ok.success) {
      throw new UpstreamHttpError(`Bitrix24 ${method} answered without a result`, { service: SERVICE, status: 502 });
    }
    return { result: ok.data.result, total: ok.data.total, next: ok.data.next };
  }
}

/** Turns a Bitrix error code into an error whose message says what to do. */
export function apiError(method: string, code: string, description: string, status?: number): UpstreamApiError {
  const text = description.replace(/<br\s*\/?>/gi, " ").trim();
  let message: string;
  switch (code) {
    case "NO_AUTH_FOUND":
    case "INVALID_CREDENTIALS":
    case "expired_token":
      message =
        `Bitrix24 rejected the webhook (${code}) — check the webhook URL in the 1C → Bitrix24 settings or BITRIX_WEBHOOK`;
      break;
    case "insufficient_scope":
      message =
        `Bitrix24 refused ${method}: the webhook lacks a scope — give it department, user, task, sonet, disk, calendar, timeman and im`;
      break;
    case "ACCESS_DENIED":
      message = `Bitrix24 refused ${method}: ${text || "access denied"} (ACCESS_DENIED)`;
      break;
    case "QUERY_LIMIT_EXCEEDED":
      message =
        "Bitrix24 rate limit exceeded (QUERY_LIMIT_EXCEEDED) — requests are being sent faster than 2 per second";
      break;
    case "OPERATION_TIME_LIMIT":
      message = `Bitrix24 method ${method} used up its execution time (OPERATION_TIME_LIMIT); it is retried later`;
      break;
    case "OVERLOAD_LIMIT":
      message = "Bitrix24 blocked REST for this portal (OVERLOAD_LIMIT) — contact Bitrix24 support";
      break;
    default:
      message = `Bitrix24 ${method} failed: ${code || "error"}${text ? ` — ${excerpt(text, 200)}` : ""}`;
  }
  return new UpstreamApiError(message, { service: SERVICE, code, status, transient: TRANSIENT_CODES.has(code) });
}

function parseResult<S extends z.ZodType>(method: string, schema: S, result: unknown): z.output<S> {
  const parsed = schema.safeParse(result);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpstreamHttpError(
      `Bitrix24 ${method} answered in an unexpected shape (${issue?.path.join(".") || "result"}: ${issue?.message})`,
      { service: SERVICE, status: 502 },
    );
  }
  return parsed.data;
}

function asArray(method: string, v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === "object") return Object.values(v); // PHP arrays with non-sequential keys
  throw new UpstreamHttpError(`Bitrix24 ${method} answered a page that is not a list`, {
    service: SERVICE,
    status: 502,
  });
}
