/**
 * The 1C → Bitrix24 capability (`hub.onec`): the intake service with its
 * per-portal rate limiters and caches, the `bitrix.cache.refresh` job and the
 * five-minute cron that keeps every configured portal's caches warm.
 */
import { defineCapability } from "../capability.ts";
import type { CoreHub } from "../hub.ts";
import { onecKinds } from "./kinds.ts";
import { OnecService, type OnecServiceDeps } from "./service.ts";
import { bitrixCacheRefreshJob, registerBitrixCacheCron } from "../../jobs/bitrix_cache_refresh.ts";

/** Test seams: a DNS resolver for the address policy on organizations' webhooks. */
export type OnecOptions = Pick<OnecServiceDeps, "resolve">;

export const onec = defineCapability({
  name: "onec",
  kinds: onecKinds,
  register(hub: CoreHub, options: OnecOptions = {}): Promise<OnecService> {
    const svc = new OnecService({ ...hub, log: hub.log.child("onec"), ...options });
    hub.queue.register(bitrixCacheRefreshJob(svc));
    registerBitrixCacheCron(hub, svc);
    return Promise.resolve(svc);
  },
});
