/**
 * YandexGPT synchronous completion client (`/foundationModels/v1/completion`).
 * Model, system prompt, temperature and max tokens come from the
 * organization's settings. Retries 408, 425, 429 (the concurrent-generations gauge),
 * 5xx, network failures and malformed answers; other 4xx fail at once.
 */
import { z } from "zod";
import { excerpt, isTransientStatus, UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { parseJsonBody, type RawResponse, requestText, retryAfterMs } from "../http/request.ts";
import { withRetry } from "../http/retry.ts";
import { type CallOptions, type EnrichmentClientOptions, joinUrl, retryOptions, scrub } from "./client_options.ts";

const SERVICE = "YandexGPT";

export interface YandexGptOptions extends EnrichmentClientOptions {
  /** An API key (`Api-Key …`) or an IAM token (`t1.…`, sent as `Bearer`). */
  apiKey?: string;
  folderId?: string;
  /** `yandexgpt-lite/latest`, or a full `gpt://…`/`ds://…` URI. */
  model?: string;
  systemPrompt?: string;
  temperature?: number;
  maxTokens?: number;
}

const completionSchema = z.object({
  result: z.object({
    alternatives: z.array(z.object({
      message: z.object({ role: z.string(), text: z.string() }),
      status: z.string(),
    })).min(1),
    usage: z.looseObject({}).optional(),
    modelVersion: z.string().optional(),
  }),
});

export interface Completion {
  text: string;
  status: string;
  modelVersion?: string;
  usage?: Record<string, unknown>;
}

/** Builds `gpt://<folder>/<model>` unless the model is already a URI. */
export function modelUri(model: string, folderId: string | undefined, fromOrganization = false): string {
  if (/^[a-z]+:\/\//.test(model)) return model;
  if (!folderId) {
    throw new UpstreamApiError(
      fromOrganization
        ? "YandexGPT is not configured for this organization: its settings set their own base URL, key or folder, so YANDEXGPT_FOLDER_ID from the environment is not used — set folderId in the organization's YandexGPT settings (or a full gpt:// model URI)"
        : "YandexGPT is not configured: set YANDEXGPT_FOLDER_ID (or a full gpt:// model URI)",
      { service: SERVICE, code: "not_configured" },
    );
  }
  return `gpt://${folderId}/${model}`;
}

/** The client; one instance per organization's settings. */
export class YandexGptClient {
  readonly #o: YandexGptOptions;

  constructor(options: YandexGptOptions) {
    this.#o = options;
  }

  /** Asks the model and returns the first alternative's text. */
  async complete(prompt: string, call: CallOptions = {}): Promise<Completion> {
    const o = this.#o;
    if (!o.apiKey) {
      throw new UpstreamApiError(
        o.credentialsFrom === "organization"
          ? "YandexGPT is not configured for this organization: its settings set their own base URL, key or folder, so YANDEXGPT_API_KEY from the environment is not used — set apiKey in the organization's YandexGPT settings"
          : "YandexGPT is not configured: set YANDEXGPT_API_KEY, or the organization's YandexGPT key",
        { service: SERVICE, code: "not_configured" },
      );
    }
    const uri = modelUri(o.model ?? "yandexgpt-lite/latest", o.folderId, o.credentialsFrom === "organization");
    const messages = [
      ...(o.systemPrompt ? [{ role: "system", text: o.systemPrompt }] : []),
      { role: "user", text: prompt },
    ];
    const body = {
      modelUri: uri,
      completionOptions: {
        stream: false,
        temperature: o.temperature ?? 0.3,
        maxTokens: String(o.maxTokens ?? 1000),
      },
      messages,
    };
    const auth = o.apiKey.startsWith("t1.") ? `Bearer ${o.apiKey}` : `Api-Key ${o.apiKey}`;
    const headers: Record<string, string> = { authorization: auth };
    if (o.folderId) headers["x-folder-id"] = o.folderId;
    return await withRetry(async () => {
      const raw = await requestText(joinUrl(o.baseUrl, "/foundationModels/v1/completion"), {
        service: SERVICE,
        json: body,
        headers,
        policy: o.policy,
        fetch: o.fetch,
        timeoutMs: o.timeoutMs ?? 30_000,
        signal: o.signal,
      });
      if (raw.status !== 200) throw this.#failure(raw);
      const parsed = completionSchema.safeParse(parseJsonBody(SERVICE, raw));
      if (!parsed.success) {
        throw new UpstreamHttpError(
          `YandexGPT answered with an unexpected shape (expected result.alternatives): ${excerpt(raw.text, 200)}`,
          { service: SERVICE, status: 502 },
        );
      }
      const alt = parsed.data.result.alternatives[0];
      if (alt.status === "ALTERNATIVE_STATUS_CONTENT_FILTER") {
        throw new UpstreamApiError(
          "YandexGPT refused to answer: the prompt or the answer hit its content filter — rephrase the prompt",
          { service: SERVICE, code: "content_filter" },
        );
      }
      return {
        text: alt.message.text,
        status: alt.status,
        modelVersion: parsed.data.result.modelVersion,
        usage: parsed.data.result.usage,
      };
    }, retryOptions(o, call));
  }

  #failure(raw: RawResponse): Error {
    const o = this.#o;
    const said = scrub(excerpt(upstreamMessage(raw.text), 200), [o.apiKey]);
    const tail = said ? `: ${said}` : "";
    const s = raw.status;
    // What is worth retrying is decided once, for every client (lib/errors.ts).
    if (isTransientStatus(s)) {
      return new UpstreamHttpError(
        s === 429 ? `YandexGPT quota exceeded (HTTP 429)${tail}` : `YandexGPT failed with HTTP ${s}${tail}`,
        { service: SERVICE, status: s, retryAfterMs: retryAfterMs(raw.headers) },
      );
    }
    if (s === 401) {
      return new UpstreamApiError(`YandexGPT rejected the API key (HTTP 401${tail}) — check YANDEXGPT_API_KEY`, {
        service: SERVICE,
        code: "unauthorized",
        status: s,
      });
    }
    if (s === 403) {
      return new UpstreamApiError(
        `YandexGPT denied access (HTTP 403${tail}) — the key's service account needs the ai.languageModels.user role in folder YANDEXGPT_FOLDER_ID`,
        { service: SERVICE, code: "forbidden", status: s },
      );
    }
    if (s === 404) {
      return new UpstreamApiError(
        "YandexGPT answered HTTP 404 — check YANDEXGPT_BASE_URL (expected https://llm.api.cloud.yandex.net) and YANDEXGPT_MODEL",
        { service: SERVICE, code: "bad_url", status: s },
      );
    }
    return new UpstreamApiError(
      `YandexGPT rejected the request (HTTP ${s}${tail}) — check YANDEXGPT_MODEL, YANDEXGPT_FOLDER_ID and the prompt settings`,
      { service: SERVICE, code: "rejected", status: s },
    );
  }
}

/** YandexGPT errors look like `{"error":{"grpcCode":8,"httpCode":429,"message":"…"}}`. */
function upstreamMessage(text: string): string {
  try {
    const v = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof v?.error === "object" ? v.error?.message : v?.error ?? v?.message;
    if (typeof m === "string") return m;
  } catch {
    // not JSON
  }
  return text.trim();
}
