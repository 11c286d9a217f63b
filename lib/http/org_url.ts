/**
 * Base URLs an organization sets for the hub to call (the Bitrix24 webhook,
 * the DaData and YandexGPT base URLs, the result webhook) follow the same
 * outgoing-address policy as HTTP actions (lib/http/url_guard.ts): never
 * link-local or cloud metadata, private networks only when the organization's
 * `general.allowPrivateNetworks` is on and within the operator's ceiling
 * `SHLYUZ_ALLOW_PRIVATE_NETWORKS`. Checked when saved (what the URL says, here)
 * and on every call and redirect hop by the guarded fetch (after DNS, which
 * can change). The operator's own values from the environment are not checked.
 */
import { orgAddressPolicy } from "../general_settings.ts";
import type { SettingsStore } from "../settings.ts";
import type { Config } from "../config.ts";
import { urlProblem } from "./url_guard.ts";

export interface OrgUrlDeps {
  settings: SettingsStore;
  config: Config;
}

/** Save time: why the organization may not store `url`, or null. Checks the URL itself, no DNS. */
export async function orgUrlProblem(deps: OrgUrlDeps, org: string, url: string): Promise<string | null> {
  return await urlProblem(url, await orgAddressPolicy(deps, org, { resolve: false }));
}
