/**
 * DaData "clean" API client for phones and e-mails (one record per request,
 * as the API requires). 408, 425, 429, 5xx, network failures and malformed answers are
 * retried with backoff and jitter; other 4xx fail at once with a message a
 * person can act on. Credentials never appear in messages.
 */
import { z } from "zod";
import { excerpt, isTransientStatus, UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { parseJsonBody, type RawResponse, requestText, retryAfterMs } from "../http/request.ts";
import { withRetry } from "../http/retry.ts";
import { type CallOptions, type EnrichmentClientOptions, joinUrl, retryOptions, scrub } from "./client_options.ts";

const SERVICE = "DaData";

export interface DadataOptions extends EnrichmentClientOptions {
  apiKey?: string;
  secretKey?: string;
}

const nullableString = z.string().nullable().optional();

/** A standardized phone as DaData returns it (unknown extra fields are kept). */
export const phoneRecordSchema = z.looseObject({
  source: z.string(),
  type: nullableString,
  phone: nullableString,
  country_code: nullableString,
  city_code: nullableString,
  number: nullableString,
  extension: nullableString,
  provider: nullableString,
  country: nullableString,
  region: nullableString,
  city: nullableString,
  timezone: nullableString,
  qc_conflict: z.number().int().nullable().optional(),
  qc: z.number().int().nullable(),
});
export type PhoneRecord = z.infer<typeof phoneRecordSchema>;

/** A standardized e-mail as DaData returns it. */
export const emailRecordSchema = z.looseObject({
  source: z.string(),
  email: nullableString,
  local: nullableString,
  domain: nullableString,
  type: nullableString,
  qc: z.number().int().nullable(),
});
export type EmailRecord = z.infer<typeof emailRecordSchema>;

// Built once: constructing zod schemas costs more than parsing a record with them.
const phoneAnswerSchema = z.array(phoneRecordSchema).length(1);
const emailAnswerSchema = z.array(emailRecordSchema).length(1);

/** The client; one instance per organization's credentials. */
export class DadataClient {
  readonly #o: DadataOptions;

  constructor(options: DadataOptions) {
    this.#o = options;
  }

  /** Standardizes one phone number. */
  cleanPhone(source: string, call: CallOptions = {}): Promise<PhoneRecord> {
    return this.#clean("phone", source, phoneAnswerSchema, call);
  }

  /** Standardizes one e-mail address. */
  cleanEmail(source: string, call: CallOptions = {}): Promise<EmailRecord> {
    return this.#clean("email", source, emailAnswerSchema, call);
  }

  #clean<R>(kind: "phone" | "email", source: string, schema: z.ZodType<R[]>, call: CallOptions): Promise<R> {
    const o = this.#o;
    if (!o.apiKey || !o.secretKey) {
      return Promise.reject(
        new UpstreamApiError(
          o.credentialsFrom === "organization"
            ? "DaData is not configured for this organization: its settings set their own base URL or keys, so DADATA_API_KEY and DADATA_SECRET_KEY from the environment are not used — set both apiKey and secretKey in the organization's DaData settings"
            : "DaData is not configured: set DADATA_API_KEY and DADATA_SECRET_KEY, or the organization's DaData keys",
          { service: SERVICE, code: "not_configured" },
        ),
      );
    }
    const url = joinUrl(o.baseUrl, `/api/v1/clean/${kind}`);
    return withRetry(async () => {
      const raw = await requestText(url, {
        service: SERVICE,
        json: [source],
        headers: { authorization: `Token ${o.apiKey}`, "x-secret": o.secretKey! },
        policy: o.policy,
        fetch: o.fetch,
        timeoutMs: o.timeoutMs ?? 10_000,
        signal: o.signal,
      });
      if (raw.status !== 200) throw this.#failure(raw);
      const body = parseJsonBody(SERVICE, raw);
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        throw new UpstreamHttpError(
          `DaData answered clean/${kind} with an unexpected shape (expected an array with one record): ${
            excerpt(raw.text, 200)
          }`,
          { service: SERVICE, status: 502 },
        );
      }
      return parsed.data[0];
    }, retryOptions(o, call));
  }

  #failure(raw: RawResponse): Error {
    const o = this.#o;
    const said = scrub(excerpt(upstreamMessage(raw.text), 200), [o.apiKey, o.secretKey]);
    const tail = said ? `: ${said}` : "";
    const s = raw.status;
    // What is worth retrying is decided once, for every client (lib/errors.ts).
    if (isTransientStatus(s)) {
      return new UpstreamHttpError(
        s === 429 ? `DaData is rate limiting requests (HTTP 429)${tail}` : `DaData failed with HTTP ${s}${tail}`,
        { service: SERVICE, status: s, retryAfterMs: retryAfterMs(raw.headers) },
      );
    }
    if (s === 401) {
      return new UpstreamApiError(
        `DaData rejected the request without valid credentials (HTTP 401${tail}) — check DADATA_API_KEY and DADATA_SECRET_KEY`,
        { service: SERVICE, code: "unauthorized", status: s },
      );
    }
    if (s === 403) {
      return new UpstreamApiError(
        `DaData rejected the API key (HTTP 403${tail}) — check DADATA_API_KEY and DADATA_SECRET_KEY, the balance and the daily limit`,
        { service: SERVICE, code: "forbidden", status: s },
      );
    }
    if (s === 404 || s === 405) {
      return new UpstreamApiError(
        `DaData answered HTTP ${s} — check DADATA_BASE_URL (expected https://cleaner.dadata.ru)`,
        { service: SERVICE, code: "bad_url", status: s },
      );
    }
    return new UpstreamApiError(`DaData rejected the request (HTTP ${s}${tail})`, {
      service: SERVICE,
      code: "rejected",
      status: s,
    });
  }
}

/** DaData errors look like `{"family":"CLIENT_ERROR","reason":"Forbidden","message":"..."}`. */
function upstreamMessage(text: string): string {
  try {
    const v = JSON.parse(text) as { message?: unknown; detail?: unknown; reason?: unknown };
    const m = v?.message ?? v?.detail ?? v?.reason;
    if (typeof m === "string") return m;
  } catch {
    // not JSON: quote the text itself
  }
  return text.trim();
}
