/**
 * "Test connection" for the organization's upstream services: one cheap call
 * with the settings as they are now, through the same clients (and so the same
 * guarded fetch and address policy) the jobs use. Never throws: the outcome
 * says what failed, in the clients' own words.
 */
import type { Hub } from "./hub.ts";

export const CONNECTION_SERVICES = ["bitrix", "dadata", "yandexgpt"] as const;
export type ConnectionService = (typeof CONNECTION_SERVICES)[number];

export type ConnectionOutcome =
  | { ok: true; service: ConnectionService; ms: number; sample: string }
  | { ok: false; service: ConnectionService; ms: number; error: string };

/** Calls `service` once for `org`: Bitrix24 `department.get`, DaData clean/email, a short YandexGPT completion. */
export async function testConnection(
  hub: Pick<Hub, "onec" | "enrichment">,
  org: string,
  service: ConnectionService,
): Promise<ConnectionOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    let sample: string;
    if (service === "bitrix") {
      if (!hub.onec) throw new Error("The 1C → Bitrix24 capability is not enabled");
      const settings = await hub.onec.settings(org);
      const client = await hub.onec.client(settings, { org });
      const { result } = await client.call("department.get", {});
      sample = `${Array.isArray(result) ? result.length : 0}`;
    } else {
      if (!hub.enrichment) throw new Error("The enrichment capability is not enabled");
      sample = await hub.enrichment.clients.probe(org, service);
    }
    return { ok: true, service, ms: ms(), sample };
  } catch (error) {
    return { ok: false, service, ms: ms(), error: error instanceof Error ? error.message : String(error) };
  }
}
