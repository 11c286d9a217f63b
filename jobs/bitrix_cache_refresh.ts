/**
 * `bitrix.cache.refresh` (payload `{}` or `{ "force": true }`): reloads the
 * organization's Bitrix24 caches that expire soon (or all of them), so 1C
 * requests find them warm. Idempotent: a second delivery just finds the
 * caches fresh. The cron enqueues one per configured organization every
 * 5 minutes; the Scheduler may enqueue it too.
 */
import { listOrgs } from "../lib/accounts/store.ts";
import type { CoreHub } from "../lib/hub.ts";
import { bitrixCacheRefreshKind, type OnecKinds } from "../lib/onec/kinds.ts";
import type { OnecService } from "../lib/onec/service.ts";
import { defineJob, type OutgoingMessage, type QueueFor } from "../lib/queue/queue.ts";

export function bitrixCacheRefreshJob(onec: OnecService) {
  return defineJob(bitrixCacheRefreshKind, {
    async handle(payload, ctx) {
      const r = await onec.refreshCaches(ctx.org, { force: payload.force });
      if (r.refreshed.length) ctx.log.info("Bitrix24 caches refreshed", { org: ctx.org, ...r });
    },
  });
}

/** Every 5 minutes: one refresh message per organization with a webhook. */
export function registerBitrixCacheCron(hub: CoreHub, onec: OnecService): void {
  const queue: QueueFor<OnecKinds> = hub.queue;
  hub.cron("bitrix-cache-refresh", "*/5 * * * *", async () => {
    const messages: Array<OutgoingMessage<OnecKinds>> = [];
    for (const org of await listOrgs(hub.kv)) {
      const s = await onec.settings(org.id);
      if (s.webhookUrl) messages.push({ kind: "bitrix.cache.refresh", payload: {}, org: org.id });
    }
    if (messages.length) await queue.enqueueMany(messages);
  });
}
