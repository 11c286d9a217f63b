/**
 * Wraps the hub's fetch so every external call is counted in /metrics by
 * outcome, whichever client made it. Labels name the organization and the
 * service (`labelledFetch`), never a host or an address: hosts are what
 * tenants chose (webhooks, base URLs, HTTP actions), and /metrics must not
 * list them — nor grow a series per address.
 */
import type { Metrics } from "../metrics.ts";
import type { FetchFn } from "./guarded_fetch.ts";

/** The services external calls are counted under: fixed names, never a host. */
export type ExternalService =
  | "dadata"
  | "yandexgpt"
  | "bitrix24"
  | "result_webhook"
  | "scheduler"
  | "telegram"
  | "mail"
  | "rule_webhook"
  | "connector";

/** Who a call is made for and to which service. */
export interface ExternalLabels {
  org: string;
  service: ExternalService;
}

const LABELLER = Symbol("shlyuz.instrumentedFetch.labelled");
type Labeller = (labels: ExternalLabels) => FetchFn;

/** The hub's fetch: counts every call; calls made through it without labels are counted without org/service. */
export function instrumentedFetch(inner: FetchFn, metrics: Metrics): FetchFn {
  metrics.describe(
    "shlyuz_external_requests_total",
    "Calls to external services, by organization, service and status class",
  );
  metrics.describe(
    "shlyuz_external_errors_total",
    "Failed calls to external services (network, timeout, 429, 5xx), by organization and service",
  );
  metrics.describe("shlyuz_external_request_seconds", "Duration of calls to external services, by service");
  const labelled: Labeller = ({ org, service }) => counting(inner, metrics, { org, service });
  return Object.assign(counting(inner, metrics, {}), { [LABELLER]: labelled });
}

/**
 * The same fetch, counting its calls under an organization and a service.
 * A fetch that is not the hub's instrumented one (a test's own) is returned
 * as it is.
 *
 * @example
 * const fetch = labelledFetch(hub.fetch, { org, service: "dadata" });
 */
export function labelledFetch(fetch: FetchFn, labels: ExternalLabels): FetchFn {
  const labeller = (fetch as FetchFn & { [LABELLER]?: Labeller })[LABELLER];
  return labeller ? labeller(labels) : fetch;
}

function counting(inner: FetchFn, metrics: Metrics, labels: Record<string, string>): FetchFn {
  const service: Record<string, string> = labels.service ? { service: labels.service } : {};
  return async (input, init) => {
    const started = performance.now();
    try {
      const res = await inner(input, init);
      metrics.inc("shlyuz_external_requests_total", { ...labels, status: `${Math.floor(res.status / 100)}xx` });
      if (res.status === 429 || res.status >= 500) metrics.inc("shlyuz_external_errors_total", labels);
      metrics.observe("shlyuz_external_request_seconds", (performance.now() - started) / 1000, service);
      return res;
    } catch (error) {
      metrics.inc("shlyuz_external_requests_total", { ...labels, status: "network" });
      metrics.inc("shlyuz_external_errors_total", labels);
      throw error;
    }
  };
}
