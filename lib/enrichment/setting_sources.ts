/**
 * Where each DaData / YandexGPT setting of an organization comes from, as the
 * clients resolve it (org_clients.ts): the organization's stored value, the
 * environment's, a built-in default, or nothing. The environment's
 * credentials apply only while the organization sets none of the service's
 * credential unit (base URL and keys), so a stored base URL turns them off.
 * Secret values are never part of the answer.
 */
import type { Config } from "../config.ts";
import { CREDENTIAL_UNITS, overridesCredentials } from "./org_clients.ts";

export type SettingSource =
  | { from: "organization" }
  | { from: "environment"; variable: string; value?: string }
  | { from: "default"; value: string }
  /** `envOff`: the environment has a value, but the organization's own address or keys turn it off. */
  | { from: "none"; envOff?: boolean };

export interface SectionSources {
  fields: Record<string, SettingSource>;
  /** Whose keys the service uses now. */
  credentials: "organization" | "environment" | "none" | "environment_off";
}

type EnvConfig = Pick<
  Config,
  | "DADATA_API_KEY"
  | "DADATA_SECRET_KEY"
  | "DADATA_BASE_URL"
  | "YANDEXGPT_API_KEY"
  | "YANDEXGPT_FOLDER_ID"
  | "YANDEXGPT_MODEL"
  | "YANDEXGPT_BASE_URL"
>;

const isSet = (v: unknown) => v !== undefined && v !== null && v !== "";

interface FieldEnv {
  variable?: string;
  secret?: boolean;
  fallback?: string;
}

const FIELDS = {
  dadata: {
    apiKey: { variable: "DADATA_API_KEY", secret: true },
    secretKey: { variable: "DADATA_SECRET_KEY", secret: true },
    baseUrl: { variable: "DADATA_BASE_URL" },
  },
  yandexgpt: {
    apiKey: { variable: "YANDEXGPT_API_KEY", secret: true },
    folderId: { variable: "YANDEXGPT_FOLDER_ID" },
    model: { variable: "YANDEXGPT_MODEL" },
    baseUrl: { variable: "YANDEXGPT_BASE_URL" },
    systemPrompt: { fallback: "" },
    temperature: { fallback: "0.3" },
    maxTokens: { fallback: "1000" },
  },
} satisfies Record<"dadata" | "yandexgpt", Record<string, FieldEnv>>;

/** The source of every field of `section` for an organization whose stored section is `stored`. */
export function settingSources(
  section: "dadata" | "yandexgpt",
  stored: Record<string, unknown> | null,
  config: EnvConfig,
): SectionSources {
  const own = overridesCredentials(section, stored);
  const unit: readonly string[] = CREDENTIAL_UNITS[section];
  const fields: Record<string, SettingSource> = {};
  for (const [name, spec] of Object.entries(FIELDS[section]) as Array<[string, FieldEnv]>) {
    if (isSet(stored?.[name])) {
      fields[name] = { from: "organization" };
      continue;
    }
    const envValue = spec.variable ? config[spec.variable as keyof EnvConfig] : undefined;
    // Base URLs always fall back to the environment's; keys only while the organization sets none.
    const credential = unit.includes(name) && name !== "baseUrl";
    if (isSet(envValue) && !(credential && own)) {
      fields[name] = { from: "environment", variable: spec.variable!, value: spec.secret ? undefined : envValue };
    } else if (spec.fallback !== undefined) {
      fields[name] = { from: "default", value: spec.fallback };
    } else {
      fields[name] = { from: "none", envOff: isSet(envValue) && credential && own };
    }
  }
  const keys = section === "dadata" ? ["apiKey", "secretKey"] : ["apiKey"];
  const envKeys = keys.every((k) => isSet(config[FIELDS[section][k as "apiKey"].variable as keyof EnvConfig]));
  const credentials = own
    ? (keys.every((k) => isSet(stored?.[k])) ? "organization" : envKeys ? "environment_off" : "none")
    : envKeys
    ? "environment"
    : "none";
  return { fields, credentials };
}
