/** The organization's general settings: its time zone and network policy for outgoing calls. */
import { z } from "zod";
import type { Hub } from "./hub.ts";

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
export function generalSettings(hub: Pick<Hub, "settings" | "config">, org: string): Promise<GeneralSettings> {
  return hub.settings.get(org, "general", generalSettingsSchema, { timezone: hub.config.SHLYUZ_TIMEZONE });
}
