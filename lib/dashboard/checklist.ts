/**
 * The first-run checklist: each item is read from the real state (settings as
 * the services resolve them, tokens), never from a "done" flag of its own.
 */
import type { Hub } from "../hub.ts";
import { generalSettings } from "../general_settings.ts";
import { listTokens } from "../accounts/tokens.ts";
import { loadOnecSettings, SETTINGS_SECTION } from "../onec/settings.ts";
import { overridesCredentials } from "../enrichment/org_clients.ts";
import type { ChecklistItem } from "./types.ts";

/** The settings page tests Bitrix24, DaData and YandexGPT connections. */
const TEST = "/admin/settings";

type ChecklistHub = Pick<Hub, "kv" | "settings" | "config">;

/** The five first-run steps for `org`, in the order a newcomer does them. */
export async function firstRunChecklist(hub: ChecklistHub, org: string): Promise<ChecklistItem[]> {
  const [onec, storedBitrix, dadata, gpt, general, tokens] = await Promise.all([
    loadOnecSettings(hub.settings, org, { config: hub.config, kv: hub.kv }),
    hub.settings.read(org, SETTINGS_SECTION),
    hub.settings.read(org, "dadata"),
    hub.settings.read(org, "yandexgpt"),
    generalSettings(hub, org),
    listTokens(hub.kv, org),
  ]);
  const c = hub.config;
  // The environment's keys apply only while the organization sets none of the unit (org_clients.ts).
  const dadataOwn = overridesCredentials("dadata", dadata);
  const dadataDone = dadataOwn ? Boolean(dadata?.apiKey && dadata?.secretKey) : Boolean(c.DADATA_API_KEY);
  const gptOwn = overridesCredentials("yandexgpt", gpt);
  const gptDone = gptOwn
    ? Boolean(gpt?.apiKey && gpt?.folderId)
    : Boolean(c.YANDEXGPT_API_KEY && c.YANDEXGPT_FOLDER_ID);
  const source = (own: boolean) => (own ? "organization" as const : "environment" as const);
  const bitrixOwn = Boolean(storedBitrix?.webhookUrl);
  return [
    {
      key: "bitrix",
      done: Boolean(onec.webhookUrl),
      href: "/admin/onec",
      testHref: TEST,
      ...(onec.webhookUrl ? { source: source(bitrixOwn) } : {}),
    },
    {
      key: "dadata",
      done: dadataDone,
      href: "/admin/enrichment",
      ...(dadataDone ? { source: source(dadataOwn) } : {}),
    },
    {
      key: "yandexgpt",
      done: gptDone,
      href: "/admin/enrichment",
      testHref: TEST,
      ...(gptDone ? { source: source(gptOwn) } : {}),
    },
    { key: "private_network", done: general.allowPrivateNetworks, href: "/admin/settings" },
    // A token somebody created in the panel or API; the operator's SHLYUZ_ADMIN_TOKEN does not count.
    {
      key: "token",
      done: tokens.some((t) => !t.revokedAt && t.name !== "SHLYUZ_ADMIN_TOKEN"),
      href: "/admin/tokens",
    },
  ];
}
