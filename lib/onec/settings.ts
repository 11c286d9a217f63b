/**
 * The organization's 1C → Bitrix24 settings (section `bitrix` of
 * hub.settings; the webhook URL is sealed). `BITRIX_WEBHOOK` is the default
 * until an organization sets its own.
 */
import { z } from "zod";
import type { Config } from "../config.ts";
import type { SettingsStore } from "../settings.ts";

export const SETTINGS_SECTION = "bitrix";
export const SECRET_FIELDS = ["webhookUrl"] as const;

const positive = (def: number) => z.coerce.number().positive().default(def);

export const onecSettingsSchema = z.object({
  /** Inbound webhook `https://PORTAL/rest/USER_ID/CODE/`. */
  webhookUrl: z.string().url().optional(),
  /** Name of the Production department in the Bitrix24 structure. */
  productionDepartment: z.string().min(1).default("Производство"),
  /** The project every task goes into. */
  projectName: z.string().min(1).default("Задачи из 1с"),
  /** Who gets a task nobody matched: the matched section's head (then `fallbackUserId`), or always `fallbackUserId`. */
  fallback: z.enum(["head", "user"]).default("head"),
  fallbackUserId: z.coerce.number().int().positive().optional(),
  /** CREATED_BY when the 1C author is not a known Bitrix24 user (default: the webhook's user). */
  defaultAuthorId: z.coerce.number().int().positive().optional(),
  /** Fuzzy matching of the calculation name (rules in lib/onec/matching.ts). */
  fuzzyMatch: z.preprocess((v) => (typeof v === "string" ? !/^(0|false|no|off)$/i.test(v) : v), z.boolean())
    .default(true),
  /** Portal limits: 2/s and 50 for most plans, 5/s and 250 for Enterprise. */
  ratePerSec: positive(2),
  burst: z.coerce.number().int().positive().default(50),
  /** How long one 1C request may take before we answer 500 (1C's HTTP timeout is usually 60 s). */
  budgetMs: z.coerce.number().int().min(1000).default(55_000),
  /** Cache lifetimes, seconds. */
  ttlDepartments: positive(3600),
  ttlUsers: positive(900),
  ttlPresence: positive(900),
  ttlProject: positive(86_400),
  /** Drive folder for attached files; default: the webhook user's storage root. */
  diskFolderId: z.coerce.number().int().positive().optional(),
  /** Taken from the organization's general settings. */
  timeZone: z.string().default("Europe/Moscow"),
});

export type OnecSettings = z.infer<typeof onecSettingsSchema>;

/** Reads an organization's settings over the env defaults. */
export async function loadOnecSettings(settings: SettingsStore, org: string, config: Config): Promise<OnecSettings> {
  // The organization's time zone lives in its general settings.
  const general = await settings.read(org, "general");
  return settings.get(org, SETTINGS_SECTION, onecSettingsSchema, {
    webhookUrl: config.BITRIX_WEBHOOK,
    timeZone: typeof general?.timezone === "string" ? general.timezone : config.SHLYUZ_TIMEZONE,
  });
}

/** Cache lifetimes in ms. */
export function ttls(s: OnecSettings): { departments: number; users: number; presence: number; project: number } {
  return {
    departments: s.ttlDepartments * 1000,
    users: s.ttlUsers * 1000,
    presence: s.ttlPresence * 1000,
    project: s.ttlProject * 1000,
  };
}
