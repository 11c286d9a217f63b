/**
 * The event catalogue: every event type the hub publishes, gathered from the
 * capabilities' own `lib/<capability>/events.ts`. A capability adds its file
 * and one entry in PARTS; a type declared twice stops the hub at start-up.
 * `publish` accepts only these types (and `custom.*`), `GET
 * /api/v1/events/types` lists them, rules check their fields against them.
 */
import type { EventDefinition } from "./define.ts";
import { customEvents } from "./custom.ts";
import { schedulerEvents } from "../scheduler/events.ts";
import { onecEvents } from "../onec/events.ts";
import { enrichmentEvents } from "../enrichment/events.ts";
import { notifyEvents } from "../notify/events.ts";
import { slaEvents } from "../sla/events.ts";
import { queueEvents } from "../queue/events.ts";

type Part = Readonly<Record<string, EventDefinition>>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type Gathered<P extends readonly Part[]> = {
  [K in keyof UnionToIntersection<P[number]>]: UnionToIntersection<P[number]>[K];
};

/** Merges the capabilities' records; a type declared twice is a programmer error. */
export function gatherCatalogue<const P extends readonly Part[]>(...parts: P): Gathered<P> {
  const out: Record<string, EventDefinition> = {};
  for (const part of parts) {
    for (const [type, def] of Object.entries(part)) {
      if (Object.hasOwn(out, type)) throw new Error(`events: the event type ${type} is declared twice`);
      out[type] = def;
    }
  }
  return out as Gathered<P>;
}

export const CATALOGUE = gatherCatalogue(
  customEvents,
  queueEvents,
  schedulerEvents,
  onecEvents,
  enrichmentEvents,
  notifyEvents,
  slaEvents,
);

export type Catalogue = typeof CATALOGUE;
