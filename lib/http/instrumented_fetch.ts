/**
 * Wraps the hub's fetch so every external call is counted by host and
 * outcome in /metrics, whichever client made it.
 */
import type { Metrics } from "../metrics.ts";
import type { FetchFn } from "./request.ts";

export function instrumentedFetch(inner: FetchFn, metrics: Metrics): FetchFn {
  metrics.describe("shlyuz_external_requests_total", "Calls to external services, by host and status class");
  metrics.describe(
    "shlyuz_external_errors_total",
    "Failed calls to external services (network, timeout, 429, 5xx), by host",
  );
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    let host = "unknown";
    try {
      host = new URL(url).host;
    } catch { /* an invalid URL fails in fetch itself */ }
    const started = performance.now();
    try {
      const res = await inner(input, init);
      const cls = `${Math.floor(res.status / 100)}xx`;
      metrics.inc("shlyuz_external_requests_total", { host, status: cls });
      if (res.status === 429 || res.status >= 500) metrics.inc("shlyuz_external_errors_total", { host });
      metrics.observe("shlyuz_external_request_seconds", (performance.now() - started) / 1000, { host });
      return res;
    } catch (error) {
      metrics.inc("shlyuz_external_requests_total", { host, status: "network" });
      metrics.inc("shlyuz_external_errors_total", { host });
      throw error;
    }
  };
}
