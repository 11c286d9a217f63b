/** The organization's general settings: its time zone and network policy for outgoing calls. */
import { z } from "zod";
import type { Config } from "./config.ts";
import type { SettingsStore } from "./settings.ts";
import { type AddressPolicy, effectivePolicy, type Resolver } from "./http/url_guard.ts";

export const generalSettingsSchema = z.object({
  timezone: z.string().refine((tz) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "must be an IANA time zone such as Europe/Moscow"),
  /** Let HTTP actions and webhooks reach private addresses (10/8, 192.168/16, 127/8 …). Off by default. */
  allowPrivateNetworks: z.boolean().default(false),
});

export type GeneralSettings = z.infer<typeof generalSettingsSchema>;

/** The organization's general settings over the env defaults. */
export function generalSettings(
  hub: { settings: SettingsStore; config: Pick<Config, "SHLYUZ_TIMEZONE"> },
  org: string,
): Promise<GeneralSettings> {
  return hub.settings.get(org, "general", generalSettingsSchema, { timezone: hub.config.SHLYUZ_TIMEZONE });
}

/**
 * The address policy for the organization's outgoing calls: its own setting,
 * capped by the operator's ceiling. `resolve` is the DNS resolver (tests inject
 * one; `false` for save-time checks of what a URL says).
 */
export async function orgAddressPolicy(
  hub: { settings: SettingsStore; config: Pick<Config, "SHLYUZ_TIMEZONE" | "SHLYUZ_ALLOW_PRIVATE_NETWORKS"> },
  org: string,
  { resolve }: { resolve?: Resolver | false } = {},
): Promise<AddressPolicy> {
  const { allowPrivateNetworks } = await generalSettings(hub, org);
  const policy = effectivePolicy({
    tenantAllowsPrivate: allowPrivateNetworks,
    ceiling: hub.config.SHLYUZ_ALLOW_PRIVATE_NETWORKS,
  });
  return resolve === undefined ? policy : { ...policy, resolve };
}
