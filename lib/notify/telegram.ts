/**
 * The Telegram Bot API through grammY: one `Api` per bot token, pointed at
 * `TELEGRAM_API_ROOT` with the hub's fetch, `@grammyjs/auto-retry` for short
 * 429 waits (longer ones go back to the queue with their `retry_after`), and
 * one classification of Telegram's answers that every caller uses.
 */
import type { Api } from "grammy";
import type { FetchFn } from "../http/request.ts";
import { guardedFetch } from "../http/guarded_fetch.ts";
import { OPERATOR_POLICY } from "../http/url_guard.ts";

export interface TelegramOptions {
  apiRoot: string;
  fetch: FetchFn;
  /** 429 waits up to this long are retried in place; longer ones are returned to the caller. Default 2. */
  maxInlineRetrySeconds?: number;
  timeoutSeconds?: number;
}

type Grammy = typeof import("grammy");
let grammyModule: Grammy | undefined;

/**
 * grammY, loaded on first use: with its dependencies (node-fetch, whatwg-url)
 * it cost every hub process ≈ 6 MiB of idle memory and start-up time, and
 * most never talk to Telegram.
 */
export async function grammy(): Promise<Grammy> {
  return grammyModule ??= await import("grammy");
}

/** An API client for one bot token. */
export async function telegramApi(
  token: string,
  { apiRoot, fetch, maxInlineRetrySeconds = 2, timeoutSeconds = 30 }: TelegramOptions,
): Promise<Api> {
  const [{ Api }, { autoRetry }] = await Promise.all([grammy(), import("@grammyjs/auto-retry")]);
  const api = new Api(token, {
    apiRoot: apiRoot.replace(/\/+$/, ""),
    // grammY's node build would use node-fetch; the hub's fetch is the one tests point at fakes.
    fetch: grammyFetch(fetch) as never,
    timeoutSeconds,
  });
  api.config.use(autoRetry({
    maxDelaySeconds: maxInlineRetrySeconds,
    maxRetryAttempts: 2,
    rethrowHttpErrors: true,
    rethrowInternalServerErrors: true,
  }));
  return api;
}

/**
 * The fetch grammY gets: every Bot API call goes through the guarded fetch
 * with the operator's policy (TELEGRAM_API_ROOT is the operator's setting).
 * grammY's node build makes its signals with the `abort-controller` polyfill,
 * which Deno refuses ("'signal' … is not of type AbortSignal"): such a signal
 * is bridged to a native one. grammY sends JSON bodies as strings and
 * uploads (sendDocument) as a multipart stream, which is read into bytes here
 * (documents are capped, lib/notify/mail/attachments.ts): a buffered body can
 * follow a redirect, a stream cannot.
 */
export function grammyFetch(fetch: FetchFn): FetchFn {
  return async (input, init) => {
    const signal = init?.signal as unknown as (EventTarget & { aborted: boolean }) | undefined;
    const native = new AbortController();
    const onAbort = () => native.abort();
    if (signal?.aborted) native.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const body = await bufferedBody(init?.body);
      return await guardedFetch(String(input instanceof Request ? input.url : input), {
        method: init?.method,
        headers: init?.headers,
        body: body as string | undefined,
        signal: native.signal,
      }, { policy: OPERATOR_POLICY, service: "Telegram", fetch });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  };
}

/** A string or bytes as they are; a stream (grammY's multipart upload) read to the end. */
async function bufferedBody(body: unknown): Promise<string | Uint8Array | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
    const chunks: Uint8Array[] = [];
    for await (const c of body as AsyncIterable<Uint8Array | string>) {
      chunks.push(typeof c === "string" ? new TextEncoder().encode(c) : c);
    }
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
  throw new TypeError("Cannot send this request body to Telegram: expected a string, bytes or a stream");
}

/** What a failed Bot API call means for the caller. */
export type TelegramFailure =
  | { kind: "rate"; retryAfterMs: number; reason: string }
  | { kind: "migrated"; newChatId: number; reason: string }
  | { kind: "html"; reason: string }
  | { kind: "chat"; status: "kicked" | "blocked" | "deleted" | "left"; reason: string }
  | { kind: "token"; reason: string }
  | { kind: "transient"; reason: string }
  | { kind: "refused"; reason: string };

/** Classifies an error thrown by a grammY call. Tokens never appear in the reason. */
export function classifyTelegramError(error: unknown): TelegramFailure {
  // A GrammyError can only come from a loaded grammY.
  if (grammyModule && error instanceof grammyModule.GrammyError) {
    const reason = `${error.error_code} ${error.description}`;
    const d = error.description;
    const p = error.parameters ?? {};
    if (error.error_code === 429) return { kind: "rate", retryAfterMs: (p.retry_after ?? 5) * 1000, reason };
    if (p.migrate_to_chat_id) return { kind: "migrated", newChatId: p.migrate_to_chat_id, reason };
    if (error.error_code === 401) return { kind: "token", reason };
    if (error.error_code === 400 && /can't parse entities|unsupported start tag|can't find end/i.test(d)) {
      return { kind: "html", reason };
    }
    if (error.error_code === 403) {
      if (/blocked by the user|user is deactivated/i.test(d)) return { kind: "chat", status: "blocked", reason };
      if (/chat was deleted/i.test(d)) return { kind: "chat", status: "deleted", reason };
      if (/not a member/i.test(d)) return { kind: "chat", status: "left", reason };
      return { kind: "chat", status: "kicked", reason };
    }
    if (error.error_code === 400 && /chat not found/i.test(d)) return { kind: "chat", status: "deleted", reason };
    if (error.error_code >= 500) return { kind: "transient", reason };
    return { kind: "refused", reason };
  }
  // grammY's network error wraps the fetch failure in `error`.
  if (error instanceof Error && "error" in error) {
    const inner = (error as { error?: unknown }).error;
    return { kind: "transient", reason: `network error: ${inner instanceof Error ? inner.message : error.message}` };
  }
  return { kind: "transient", reason: error instanceof Error ? error.message : String(error) };
}

/** A well-formed bot token (`123456:AA…`), without calling Telegram. */
export const TOKEN_PATTERN = /^\d{3,15}:[\w-]{20,100}$/;

/** The bot's numeric id, from the token's first part. */
export function botIdOfToken(token: string): number {
  return Number(token.split(":")[0]);
}
