/**
 * Wraps the hub's fetch so every external call is counted by outcome in
 * /metrics, whichever client made it. No host label: hosts are what tenants
 * chose (webhooks, base URLs, HTTP actions) and /metrics must not list them.
 */
import type { Metrics } from "../metrics.ts";
import type { FetchFn } from "./request.ts";

export function instrumentedFetch(inner: FetchFn, metrics: Metrics): FetchFn {
  metrics.describe("shlyuz_external_requests_total", "Calls to external services, by status class");
  metrics.describe(
    "shlyuz_external_errors_total",
    "Failed calls to external services (network, timeout, 429, 5xx)",
  );
  return async (input, init) => {
    const started = performance.now();
    try {
      const res = await inner(input, init);
      const cls = `${Math.floor(res.status / 100)}xx`;
      metrics.inc("shlyuz_external_requests_total", { status: cls });
      if (res.status === 429 || res.status >= 500) metrics.inc("shlyuz_external_errors_total");
      metrics.observe("shlyuz_external_request_seconds", (performance.now() - started) / 1000);
      return res;
    } catch (error) {
      metrics.inc("shlyuz_external_requests_total", { status: "network" });
      metrics.inc("shlyuz_external_errors_total");
      throw error;
    }
  };
}
