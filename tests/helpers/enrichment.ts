/** Enrichment test fixtures on the one harness: fast retry rounds, the service, every result. */
import type { EnrichmentOptions, EnrichmentService } from "../../lib/enrichment/mod.ts";
import { startTestHub, type TestHub } from "./hub.ts";

export { waitFor } from "./hub.ts";

/** A hub without HTTP whose enrichment retries within milliseconds; `svc` is `hub.enrichment`. */
export async function startHarness(
  { env = {}, options = {} }: { env?: Record<string, string>; options?: EnrichmentOptions } = {},
): Promise<TestHub & { svc: EnrichmentService }> {
  const t = await startTestHub({
    http: false,
    env,
    options: { enrichment: { retryBaseMs: 1, roundDelaysMs: [20, 40], ...options } },
  });
  return Object.assign(t, { svc: t.hub.enrichment });
}

/** Every result in the log. */
export async function allResults(svc: EnrichmentService, org: string) {
  const out = [];
  let after: string | undefined;
  for (;;) {
    const page = await svc.processor.results(org, { after, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1].cursor;
  }
}
