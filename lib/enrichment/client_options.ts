/** What the enrichment clients add to the shared client options (lib/http/client_options.ts). */
import type { ClientOptions } from "../http/client_options.ts";
import { clientRetryOptions } from "../http/client_options.ts";
import type { RetryOptions } from "../http/retry.ts";

export interface EnrichmentClientOptions extends ClientOptions {
  /**
   * Where the credentials come from, for the "not configured" message: "organization" when
   * the organization set its own base URL or keys (then no env credential applies). Default "env".
   */
  credentialsFrom?: "env" | "organization";
}

/** Options of one call. */
export interface CallOptions {
  /** Retries stop when the next wait would end after this time (epoch ms): the caller's claim on the task ends then. */
  deadline?: number;
}

/** The `withRetry` options every enrichment client uses: 3 retries from 200 ms unless the options say otherwise. */
export function retryOptions(o: ClientOptions, call: CallOptions = {}): RetryOptions {
  return clientRetryOptions(o, { retries: 3, baseMs: 200, deadline: call.deadline });
}

/** Removes a credential from text quoted back by an upstream ("disabled for token 'XXX'"). */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("[redacted]");
  return out;
}

/** `https://host/` + `/api/v1/x` without a double slash. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + path;
}
