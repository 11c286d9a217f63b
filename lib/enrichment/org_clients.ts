/**
 * Per-organization DaData and YandexGPT settings (encrypted keys, base URLs,
 * model, system prompt, temperature, max tokens) over the env defaults, and
 * the `Enrich` function that calls the right API for a task. Settings are
 * cached for a few seconds: at thousands of tasks a second, reading and
 * decrypting them per task would cost more than the task.
 */
import { z } from "zod";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { orgAddressPolicy } from "../general_settings.ts";
import type { FetchFn } from "../http/request.ts";
import { OPERATOR_POLICY, type Resolver } from "../http/url_guard.ts";
import type { SettingsStore } from "../settings.ts";
import { DadataClient } from "./dadata_client.ts";
import type { Enrich } from "./processor_types.ts";
import { YandexGptClient } from "./yandexgpt_client.ts";
import { labelledFetch } from "../http/instrumented_fetch.ts";

// Lengths are capped so a section stays far below KV's 64 KiB value limit (keys are sealed, which adds more).
const shortText = z.string().max(500);
const url = z.string().max(2000).url().refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL");

export const dadataSettingsSchema = z.object({
  apiKey: shortText.optional(),
  secretKey: shortText.optional(),
  baseUrl: url,
});

export const yandexGptSettingsSchema = z.object({
  apiKey: shortText.optional(),
  folderId: shortText.optional(),
  model: shortText.min(1),
  baseUrl: url,
  systemPrompt: z.string().max(4000).default(""),
  temperature: z.coerce.number().min(0).max(1).default(0.3),
  maxTokens: z.coerce.number().int().min(1).max(2000).default(1000),
});

export const webhookSettingsSchema = z.object({
  webhookUrl: url.optional(),
  webhookSecret: shortText.optional(),
});

/** Settings sections and the fields in each that are sealed at rest. */
export const SECTIONS = {
  dadata: { schema: dadataSettingsSchema, secrets: ["apiKey", "secretKey"] },
  yandexgpt: { schema: yandexGptSettingsSchema, secrets: ["apiKey"] },
  enrichment: { schema: webhookSettingsSchema, secrets: ["webhookSecret"] },
} as const;

export interface OrgClientsOptions {
  settings: SettingsStore;
  config: Config;
  fetch?: FetchFn;
  clock?: Clock;
  /** Backoff base for the clients' retries (ms). Default 200. */
  retryBaseMs?: number;
  cacheMs?: number;
  /** DNS resolver for the address policy on organization base URLs (tests). */
  resolve?: Resolver;
}

interface Clients {
  dadata: DadataClient;
  gpt: YandexGptClient;
  expires: number;
}

/** Builds and caches each organization's clients; `enrich` routes a task to the right one. */
export class OrgClients {
  readonly #o: OrgClientsOptions;
  readonly #cache = new Map<string, Promise<Clients>>();

  constructor(options: OrgClientsOptions) {
    this.#o = options;
  }

  /** Forget an organization's clients (after its settings change). */
  invalidate(org: string): void {
    this.#cache.delete(org);
  }

  /**
   * Calls the organization's DaData (one clean/email, a paid call) or YandexGPT
   * (one short completion) with its current settings, for "test connection".
   * Answers what came back: the cleaned address or the model's reply.
   */
  async probe(org: string, service: "dadata" | "yandexgpt"): Promise<string> {
    this.invalidate(org); // the settings may have just been saved
    const c = await this.#clients(org);
    if (service === "dadata") {
      const record = await c.dadata.cleanEmail("info@example.com");
      return String(record.email ?? record.source ?? "");
    }
    return (await c.gpt.complete("Ответь одним словом: готов?")).text.slice(0, 200);
  }

  readonly enrich: Enrich = async (org, task, call = {}) => {
    const c = await this.#clients(org);
    if (task.task_type === "phone") return await c.dadata.cleanPhone(task.data, call);
    if (task.task_type === "email") return await c.dadata.cleanEmail(task.data, call);
    return (await c.gpt.complete(task.data, call)).text;
  };

  #clients(org: string): Promise<Clients> {
    const now = (this.#o.clock ?? { now: Date.now }).now();
    const hit = this.#cache.get(org);
    if (hit) {
      return hit.then((c) => {
        if (c.expires > now) return c;
        this.#cache.delete(org);
        return this.#clients(org);
      });
    }
    const p = this.#build(org, now);
    this.#cache.set(org, p);
    p.catch(() => this.#cache.delete(org));
    return p;
  }

  async #build(org: string, now: number): Promise<Clients> {
    const { settings, config: c, fetch, clock, retryBaseMs, cacheMs = 5000 } = this.#o;
    // One read per section: a second read could see a base URL written in between and pair it with env keys.
    const ddStored = await settings.read(org, "dadata");
    const ygStored = await settings.read(org, "yandexgpt");
    const ddOwn = overridesCredentials("dadata", ddStored);
    const ygOwn = overridesCredentials("yandexgpt", ygStored);
    const dd = dadataSettingsSchema.parse(
      mergeOver(
        ddOwn
          ? { baseUrl: c.DADATA_BASE_URL }
          : { apiKey: c.DADATA_API_KEY, secretKey: c.DADATA_SECRET_KEY, baseUrl: c.DADATA_BASE_URL },
        ddStored,
      ),
    );
    const yg = yandexGptSettingsSchema.parse(
      mergeOver(
        ygOwn ? { model: c.YANDEXGPT_MODEL, baseUrl: c.YANDEXGPT_BASE_URL } : {
          apiKey: c.YANDEXGPT_API_KEY,
          folderId: c.YANDEXGPT_FOLDER_ID,
          model: c.YANDEXGPT_MODEL,
          baseUrl: c.YANDEXGPT_BASE_URL,
        },
        ygStored,
      ),
    );
    // An organization's own base URL follows its address policy (checked by the guarded fetch on
    // every request and redirect, after DNS); the operator's env URLs are the operator's choice.
    const orgPolicy = await orgAddressPolicy({ settings, config: c }, org, { resolve: this.#o.resolve });
    const policyFor = (url: string, envUrl: string, service: string, setting: string) =>
      url === envUrl
        ? OPERATOR_POLICY
        : { ...orgPolicy, refusedAs: `Refused the organization's ${service} base URL (${setting}) for ${service}` };
    const common = {
      clock,
      timeoutMs: c.ENRICH_TIMEOUT_MS,
      retry: { retries: c.ENRICH_RETRIES, baseMs: retryBaseMs },
    };
    return {
      dadata: new DadataClient({
        ...dd,
        ...common,
        fetch: fetch && labelledFetch(fetch, { org, service: "dadata" }),
        policy: policyFor(dd.baseUrl, c.DADATA_BASE_URL, "DaData", "dadata.baseUrl"),
        credentialsFrom: ddOwn ? "organization" : "env",
      }),
      gpt: new YandexGptClient({
        ...yg,
        systemPrompt: yg.systemPrompt || undefined,
        ...common,
        fetch: fetch && labelledFetch(fetch, { org, service: "yandexgpt" }),
        policy: policyFor(yg.baseUrl, c.YANDEXGPT_BASE_URL, "YandexGPT", "yandexgpt.baseUrl"),
        credentialsFrom: ygOwn ? "organization" : "env",
      }),
      expires: now + cacheMs,
    };
  }
}

/**
 * The fields of a service that go together: the environment supplies its
 * credentials only while the organization sets none of them, so env keys are
 * never sent to a base URL an organization chose.
 */
export const CREDENTIAL_UNITS = {
  dadata: ["baseUrl", "apiKey", "secretKey"],
  yandexgpt: ["baseUrl", "apiKey", "folderId"],
} as const;

const isSet = (v: unknown) => v !== undefined && v !== null && v !== "";

/** True when the stored section sets any field of the service's credential unit. */
export function overridesCredentials(
  section: keyof typeof CREDENTIAL_UNITS,
  stored: Record<string, unknown> | null,
): boolean {
  return CREDENTIAL_UNITS[section].some((f) => isSet(stored?.[f]));
}

/** Stored values that are set, over the defaults (as SettingsStore.get merges). */
function mergeOver(defaults: Record<string, unknown>, stored: Record<string, unknown> | null) {
  const merged: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(stored ?? {})) if (isSet(v)) merged[k] = v;
  return merged;
}

/**
 * Stored secrets a settings change would carry to another origin: the patch
 * moves the base URL (scheme, host or port) but does not send them again.
 * `envBaseUrl` is where an unset or cleared base URL points.
 */
export function secretsToResend(
  section: keyof typeof SECTIONS,
  stored: Record<string, unknown> | null,
  patch: Record<string, unknown>,
  envBaseUrl: string | undefined,
): string[] {
  if (section === "enrichment" || !("baseUrl" in patch)) return [];
  const before = isSet(stored?.baseUrl) ? String(stored!.baseUrl) : envBaseUrl;
  const after = isSet(patch.baseUrl) ? String(patch.baseUrl) : envBaseUrl;
  if (originOf(before) === originOf(after)) return [];
  return SECTIONS[section].secrets.filter((f) => isSet(stored?.[f]) && patch[f] === undefined);
}

function originOf(url: string | undefined): string | null {
  try {
    return url === undefined ? null : new URL(url).origin;
  } catch {
    return null;
  }
}

/** The longest a claim must hold: every attempt timing out plus the backoff between them, with slack. */
export function leaseMsFor(config: Config, retryBaseMs = 200): number {
  const attempts = config.ENRICH_RETRIES + 1;
  let backoff = 0;
  for (let i = 0; i < config.ENRICH_RETRIES; i++) backoff += Math.min(5000, retryBaseMs * 2 ** i);
  return attempts * config.ENRICH_TIMEOUT_MS + backoff + 5000;
}
