/** A hub with the enrichment service and its jobs, on `:memory:` KV, with the queue listening. */
import { testConfig } from "../../lib/config.ts";
import { createHub, type Hub } from "../../lib/hub.ts";
import { createEnrichment, type EnrichmentOptions, type EnrichmentService } from "../../lib/enrichment/mod.ts";
import { taskProcessJob } from "../../jobs/task_process.ts";
import { taskAmqpJob, taskResultJob, taskWebhookJob } from "../../jobs/task_result.ts";

export interface Harness {
  hub: Hub;
  svc: EnrichmentService;
  close(): Promise<void>;
}

export async function startHarness(
  { env = {}, options = {} }: { env?: Record<string, string>; options?: EnrichmentOptions } = {},
): Promise<Harness> {
  const config = testConfig(env);
  const kv = await Deno.openKv(":memory:");
  const hub = await createHub(config, { kv, secretKey: config.SHLYUZ_SECRET_KEY! });
  const svc = await createEnrichment(hub, { retryBaseMs: 1, roundDelaysMs: [20, 40], ...options });
  hub.queue.register(taskProcessJob(svc));
  hub.queue.register(taskResultJob(hub, svc));
  hub.queue.register(taskWebhookJob(hub, svc));
  hub.queue.register(taskAmqpJob(svc));
  const listening = hub.queue.listen();
  await svc.start();
  return {
    hub,
    svc,
    async close() {
      await hub.close();
      await listening;
    },
  };
}

/** Polls `cond` until true (or throws after `timeoutMs`). */
export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = "condition") {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
