/**
 * Base URLs an organization sets for the hub to call (the Bitrix24 webhook,
 * the DaData and YandexGPT base URLs) follow the same outgoing-address policy
 * as HTTP actions and result webhooks (lib/http/url_guard.ts): never
 * link-local or cloud metadata, private networks only when the organization's
 * `general.allowPrivateNetworks` is on. Checked when saved (what the URL says)
 * and again when a client is built from it (after DNS, which can change).
 * The operator's own values from the environment are not checked.
 */
import { UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { generalSettings } from "../general_settings.ts";
import type { SettingsStore } from "../settings.ts";
import type { Config } from "../config.ts";
import { type Resolver, urlProblem } from "./url_guard.ts";

export interface OrgUrlDeps {
  settings: SettingsStore;
  config: Config;
  /** DNS resolver for call-time checks (tests inject one); default: the system resolver. */
  resolve?: Resolver;
}

/** Save time: why the organization may not store `url`, or null. Checks the URL itself, no DNS. */
export async function orgUrlProblem(deps: OrgUrlDeps, org: string, url: string): Promise<string | null> {
  const { allowPrivateNetworks } = await generalSettings(deps, org);
  return await urlProblem(url, { allowPrivate: allowPrivateNetworks, resolve: false });
}

/**
 * Call time: throws when the organization's `url` must not be called now.
 * `envUrl` is the operator's value for the same setting: a URL equal to it is
 * the operator's choice and passes unchecked. A name that does not resolve is
 * a transient failure (as the call itself would be); any other refusal is not.
 */
export async function assertOrgUrl(
  deps: OrgUrlDeps,
  org: string,
  { url, envUrl, service, setting }: { url: string; envUrl?: string; service: string; setting: string },
): Promise<void> {
  if (envUrl !== undefined && url === envUrl) return;
  const { allowPrivateNetworks } = await generalSettings(deps, org);
  const problem = await urlProblem(url, { allowPrivate: allowPrivateNetworks, resolve: deps.resolve });
  if (!problem) return;
  const message = `Refused the organization's ${setting} for ${service}: ${problem}`;
  if (/does not resolve/.test(problem)) throw new UpstreamHttpError(message, { service });
  throw new UpstreamApiError(message, { service, code: "address_refused" });
}
