/**
 * How a capability declares the events it publishes: one entry per type with
 * a short title for the panel (Russian first), a description in English for
 * the API and the rules editor, and the zod schema of the event's `data`.
 *
 * @example
 * ```ts
 * export const myEvents = {
 *   "thing.done": defineEvent({
 *     title: { ru: "Дело сделано", en: "Thing done" },
 *     description: "A thing finished",
 *     schema: z.object({ thingId: z.string() }),
 *   }),
 * };
 * ```
 * The record is then spread into the catalogue (lib/events/catalogue.ts).
 */
import type { z } from "zod";

/** The event's name on the panel, in each language the panel speaks. */
export interface EventTitle {
  ru: string;
  en: string;
}

/** One event type: what the catalogue knows about it. */
export interface EventDefinition<S extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>> {
  /** A short title for the panel and the rules editor. */
  title: EventTitle;
  /** What happened, in English (API documentation, rules editor). */
  description: string;
  /** The schema of the event's `data`; `publish` parses with it, rules check their fields against it. */
  schema: S;
}

/** Declares one event type, keeping its schema's type for the typed `publish`. */
export function defineEvent<S extends z.ZodType<Record<string, unknown>>>(def: EventDefinition<S>): EventDefinition<S> {
  return def;
}
