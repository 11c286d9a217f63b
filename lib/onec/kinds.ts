/** The 1C → Bitrix24 capability's queue message kinds. */
import { z } from "zod";
import { defineKind, type KindMap } from "../queue/kind.ts";

/**
 * `bitrix.cache.refresh` (payload `{}` or `{ "force": true }`): reloads the organization's Bitrix24
 * caches that expire soon (or all of them), so 1C requests find them warm.
 */
export const bitrixCacheRefreshKind = defineKind({
  kind: "bitrix.cache.refresh",
  payload: z.object({ force: z.boolean().optional() }),
  description: "Reloads the organization's Bitrix24 caches that expire soon (all of them with force)",
  schedulable: true, // refreshes the message's own organization's caches
});

export const onecKinds = [bitrixCacheRefreshKind] as const;
export type OnecKinds = KindMap<typeof onecKinds>;
