/**
 * The one list of capabilities. Adding one is one file (`lib/<name>/mod.ts`,
 * see lib/capability.ts for the shape and an example) and one line here: the
 * hub's `hub.<name>` field, the queue's kinds and the test options follow
 * from this list. Order matters only for start hooks, which run in it.
 */
import type { Capability } from "./capability.ts";
import type { CoreHub, Hub } from "./hub.ts";
import type { KindMap, MessageKind } from "./queue/kind.ts";
import { scheduler } from "./scheduler/mod.ts";
import { onec } from "./onec/mod.ts";
import { enrichment } from "./enrichment/mod.ts";
import { notify } from "./notify/mod.ts";
import { connectors } from "./connector/mod.ts";

export const capabilities = [scheduler, onec, enrichment, connectors, notify] as const;

type Capabilities = (typeof capabilities)[number];
// deno-lint-ignore no-explicit-any
type ServiceOf<C> = C extends Capability<any, infer S, any, any> ? S : never;
// deno-lint-ignore no-explicit-any
type OptionsOf<C> = C extends Capability<any, any, any, infer O> ? O : never;

/** `hub.<name>` for every capability. */
export type CapabilityServices = { [C in Capabilities as C["name"]]: ServiceOf<C> };

/** Per-capability options for tests and benchmarks: `{ enrichment: { enrich } }`. */
export type CapabilityOptions = { [C in Capabilities as C["name"]]?: OptionsOf<C> };

/** Every message kind of every capability: the hub's queue is typed by it. */
export type AppKinds = KindMap<Capabilities["kinds"]>;

/** Every message kind, for places that list them. */
export function allKinds(): MessageKind[] {
  return capabilities.flatMap((c) => [...c.kinds]);
}

/**
 * Registers every capability on the hub: first declares all their message kinds on the queue,
 * then runs each `register` in list order and sets `hub.<name>`. Call once, before the queue
 * listener starts; `hub.start()` after it.
 */
export async function registerCapabilities(core: CoreHub, options: CapabilityOptions = {}): Promise<Hub> {
  for (const kind of allKinds()) core.queue.declare(kind);
  const hub = core as CoreHub & Record<string, unknown>;
  // deno-lint-ignore no-explicit-any
  for (const c of capabilities as readonly Capability<string, unknown, readonly MessageKind[], any>[]) {
    if (c.name in hub) throw new Error(`Cannot register capability ${c.name}: the hub already has a ${c.name}`);
    hub[c.name] = await c.register(core, (options as Record<string, unknown>)[c.name]);
  }
  return hub as unknown as Hub;
}
