/**
 * Signed outgoing webhooks for results. The body is JSON; the signature is
 * HMAC-SHA256 over `<timestamp>.<body>` with the organization's webhook
 * secret, sent as `X-Shlyuz-Signature: sha256=<hex>` with
 * `X-Shlyuz-Timestamp: <unix seconds>` (the receiver rejects old timestamps
 * to stop replays). Retries come from the queue (`task.webhook`).
 */
import { isTransientStatus, UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { type FetchFn, requestText } from "../http/request.ts";
import type { AddressPolicy } from "../http/url_guard.ts";

/** Hex HMAC-SHA256 of `<timestamp>.<body>`. */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${body}`)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Checks a signature as a receiver would (for tests and for docs). */
export async function verifyWebhook(
  secret: string,
  headers: Headers,
  body: string,
  { now = Date.now(), toleranceSec = 300 }: { now?: number; toleranceSec?: number } = {},
): Promise<boolean> {
  const ts = Number(headers.get("x-shlyuz-timestamp"));
  const sig = headers.get("x-shlyuz-signature") ?? "";
  if (!Number.isFinite(ts) || Math.abs(now / 1000 - ts) > toleranceSec) return false;
  return sig === `sha256=${await signWebhook(secret, ts, body)}`;
}

/** POSTs one signed webhook. 408/425/429/5xx/network → retryable; another 4xx → the receiver refused it. */
export async function sendWebhook(
  url: string,
  { secret, payload, policy, fetch, timeoutMs = 10_000, now = Date.now() }: {
    secret: string;
    payload: unknown;
    /** The organization's address policy, checked on the URL and every redirect. */
    policy: AddressPolicy;
    fetch?: FetchFn;
    timeoutMs?: number;
    now?: number;
  },
): Promise<void> {
  const body = JSON.stringify(payload);
  const ts = Math.floor(now / 1000);
  const raw = await requestText(url, {
    service: "Webhook",
    body,
    headers: {
      "content-type": "application/json",
      "x-shlyuz-timestamp": String(ts),
      "x-shlyuz-signature": `sha256=${await signWebhook(secret, ts, body)}`,
    },
    // The signature is for the receiver the organization named, not for wherever it redirects.
    secretHeaders: ["x-shlyuz-signature"],
    policy,
    fetch,
    timeoutMs,
  });
  if (raw.status >= 200 && raw.status < 300) return;
  if (isTransientStatus(raw.status)) {
    throw new UpstreamHttpError(`The webhook receiver answered HTTP ${raw.status}`, {
      service: "Webhook",
      status: raw.status,
    });
  }
  throw new UpstreamApiError(
    `The webhook receiver refused the delivery with HTTP ${raw.status} — check the URL and that it verifies the signature with the organization's webhook secret`,
    { service: "Webhook", code: "rejected", status: raw.status },
  );
}
