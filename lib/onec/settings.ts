/**
 * The organization's 1C → Bitrix24 settings (section `bitrix` of
 * hub.settings; the webhook URL is sealed). `BITRIX_WEBHOOK` is the default
 * only for the first organization (the one created at bootstrap) until it
 * sets its own: every other organization must set its own webhook, so one
 * tenant never writes into another tenant's portal.
 */
import { z } from "zod";
import { listOrgs } from "../accounts/store.ts";
import type { Config } from "../config.ts";
import type { SettingsStore } from "../settings.ts";
import { LOCK_TTL } from "./store.ts";

export const SETTINGS_SECTION = "bitrix";
export const SECRET_FIELDS = ["webhookUrl"] as const;

const positive = (def: number) => z.coerce.number().positive().default(def);

/**
 * The longest time budget of one 1C request. The per-1C-id claim expires
 * after LOCK_TTL; a request still working after that could share its 1C id
 * with a second request, so the budget stays well below it (30 s of slack
 * for the last call's own timeout and the bookkeeping after the deadline).
 */
export const MAX_BUDGET_MS = LOCK_TTL - 30_000;

/**
 * Bitrix24 may run one REST request for up to 60 s: a task whose add answer
 * was lost can appear that long later. Before that much time has passed
 * since the attempt, a re-send only looks for it and never creates.
 */
export const DEFAULT_RECONCILE_GRACE_MS = 90_000;

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
  budgetMs: z.coerce.number().int().min(1000).max(MAX_BUDGET_MS).default(55_000),
  /**
   * After a lost tasks.task.add answer: how long (since the attempt began) re-sends
   * only look for the task before creating it again. Longer than Bitrix24's 60 s limit.
   */
  reconcileGraceMs: z.coerce.number().int().min(61_000).max(3_600_000).default(DEFAULT_RECONCILE_GRACE_MS),
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

// Reading tolerates a budget stored before MAX_BUDGET_MS existed: it is capped, not an error.
const readSchema = onecSettingsSchema.extend({
  budgetMs: z.coerce.number().int().min(1000).default(55_000).transform((v) => Math.min(v, MAX_BUDGET_MS)),
});

/**
 * Reads an organization's settings over the env defaults. `BITRIX_WEBHOOK`
 * applies only to the first (bootstrap) organization.
 */
export async function loadOnecSettings(
  settings: SettingsStore,
  org: string,
  { config, kv }: { config: Config; kv: Deno.Kv },
): Promise<OnecSettings> {
  // The organization's time zone lives in its general settings.
  const [general, first] = await Promise.all([settings.read(org, "general"), isFirstOrg(kv, org)]);
  return settings.get(org, SETTINGS_SECTION, readSchema, {
    webhookUrl: first ? config.BITRIX_WEBHOOK : undefined,
    timeZone: typeof general?.timezone === "string" ? general.timezone : config.SHLYUZ_TIMEZONE,
  });
}

/** The oldest organization (created at bootstrap; org ids are time-ordered) is the operator's own. */
async function isFirstOrg(kv: Deno.Kv, org: string): Promise<boolean> {
  return (await listOrgs(kv))[0]?.id === org;
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
