/**
 * The shape of a capability: one module (`lib/<capability>/mod.ts`) whose
 * `register(hub)` builds the capability's service and wires everything it
 * owns — its queue jobs (`hub.queue.register`), its crons (`hub.cron`), what
 * runs once the queue listener is up (`hub.onStart`) and what it releases on
 * shutdown (`hub.onClose`). The service becomes a required field of the hub
 * under the capability's `name`; its message kinds are declared on the queue
 * before any capability registers, so producers in one capability may stage
 * messages of another.
 *
 * Adding a capability is one file and one line: write `lib/<name>/mod.ts`
 * exporting `defineCapability({...})`, and add it to the list in
 * `lib/capabilities.ts`. `main.ts`, `lib/hub.ts` and the test helper stay as
 * they are; `hub.<name>` is typed from the list.
 *
 * A capability's module is its composition root: it is the one file in lib/
 * that imports handlers from jobs/ (jobs import lib services, never a mod.ts).
 *
 * @example
 * ```ts
 * // lib/notify/mod.ts
 * import { defineCapability } from "../capability.ts";
 * import type { CoreHub } from "../hub.ts";
 * import { notifyKinds } from "./kinds.ts";
 * import { NotifyService } from "./service.ts";
 * import { notifySendJob } from "../../jobs/notify_send.ts";
 *
 * export const notify = defineCapability({
 *   name: "notify",
 *   kinds: notifyKinds,
 *   register(hub: CoreHub): Promise<NotifyService> {
 *     const svc = new NotifyService(hub);
 *     hub.queue.register(notifySendJob(svc));
 *     hub.cron("notify-digest", "0 * * * *", () => svc.digest());
 *     hub.onStart(() => svc.start());
 *     hub.onClose(() => svc.close());
 *     return Promise.resolve(svc);
 *   },
 * });
 * // lib/capabilities.ts: export const capabilities = [scheduler, onec, enrichment, notify] as const;
 * // then hub.notify is a NotifyService everywhere, and "notify.send" is an enqueue-able kind.
 * ```
 */
import type { CoreHub } from "./hub.ts";
import type { MessageKind } from "./queue/kind.ts";

/** One capability: its name on the hub, its message kinds and its registration. */
export interface Capability<
  N extends string = string,
  S = unknown,
  K extends readonly MessageKind[] = readonly MessageKind[],
  O = undefined,
> {
  /** The hub field the service lives under (`hub.<name>`), and the key of its options. */
  readonly name: N;
  /** The queue message kinds it declares (lib/<capability>/kinds.ts). */
  readonly kinds: K;
  /**
   * Builds the service and registers its jobs, crons, start and close hooks. Runs once per hub,
   * before the queue listener starts; other capabilities' services may not exist yet.
   * `options` are for tests and benchmarks (swapping an upstream, shortening waits).
   */
  register(hub: CoreHub, options?: O): Promise<S>;
}

/** Declares a capability with its name, kinds, service and options types inferred. */
export function defineCapability<const N extends string, S, const K extends readonly MessageKind[], O = undefined>(
  capability: Capability<N, S, K, O>,
): Capability<N, S, K, O> {
  return capability;
}
