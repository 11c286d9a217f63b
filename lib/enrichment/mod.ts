/**
 * The enrichment capability (`hub.enrichment`): DaData/YandexGPT tasks over
 * REST, the KV queue and RabbitMQ, with their sink, result fan-out and
 * webhook. Registers `task.process`, `task.result`, `task.webhook` and
 * `task.amqp`; once the queue listener is up it recovers batches a killed
 * process had in flight, then connects the RabbitMQ bridge.
 */
import { listOrgs } from "../accounts/store.ts";
import { defineCapability } from "../capability.ts";
import type { CoreHub } from "../hub.ts";
import { enrichmentKinds } from "./kinds.ts";
import { createEnrichment, type EnrichmentOptions, type EnrichmentService } from "./service.ts";
import { taskProcessJob } from "../../jobs/task_process.ts";
import { taskAmqpJob, taskResultJob, taskWebhookJob } from "../../jobs/task_result.ts";

export { TaskBusyError, TaskConflictError, TaskFailedError } from "./processor.ts";
export type { EnrichmentOptions, EnrichmentService, EnrichmentStatus } from "./service.ts";

export const enrichment = defineCapability({
  name: "enrichment",
  kinds: enrichmentKinds,
  async register(hub: CoreHub, options: EnrichmentOptions = {}): Promise<EnrichmentService> {
    const svc = await createEnrichment(hub, {
      defaultOrg: async () => (await listOrgs(hub.kv))[0]?.id ?? "default",
      ...options,
    });
    hub.queue.register(taskProcessJob(svc));
    hub.queue.register(taskResultJob(hub, svc));
    hub.queue.register(taskWebhookJob(hub, svc));
    hub.queue.register(taskAmqpJob(svc));
    hub.onStart(() => svc.start());
    return svc;
  },
});
