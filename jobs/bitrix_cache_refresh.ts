/**
 * `bitrix.cache.refresh` (payload `{}` or `{ "force": true }`): reloads the
 * organization's Bitrix24 caches that expire soon (or all of them), so 1C
 * requests find them warm. Idempotent: a second delivery just finds the
 * caches fresh. The cron enqueues one per configured organization every
 * 5 minutes; the Scheduler may enqueue it too.
 */
import { z } from "zod";
import { listOrgs } from "../lib/accounts/store.ts";
import type { Hub } from "../lib/hub.ts";
import { defineJob } from "../lib/queue/queue.ts";

export const BITRIX_CACHE_REFRESH = "bitrix.cache.refresh";

/** The job definition (registered in jobs/mod.ts). */
export function bitrixCacheRefreshJob(hub: Hub) {
  return defineJob({
    kind: BITRIX_CACHE_REFRESH,
    payload: z.object({ force: z.boolean().optional() }),
    schedulable: true, // refreshes the message's own organization's caches
    async handle(payload, ctx) {
      if (!hub.onec) return;
      const r = await hub.onec.refreshCaches(ctx.org, { force: payload.force });
      if (r.refreshed.length) ctx.log.info("Bitrix24 caches refreshed", { org: ctx.org, ...r });
    },
  });
}

/** Every 5 minutes: one refresh message per organization with a webhook. */
export function registerBitrixCacheCron(hub: Hub): void {
  hub.cron("bitrix-cache-refresh", "*/5 * * * *", async () => {
    if (!hub.onec) return;
    const items = [];
    for (const org of await listOrgs(hub.kv)) {
      const s = await hub.onec.settings(org.id);
      if (s.webhookUrl) items.push({ kind: BITRIX_CACHE_REFRESH, org: org.id, payload: {} });
    }
    if (items.length) await hub.queue.enqueueMany(items);
  });
}
