/**
 * The event types rules can match, with their schemas: the hub-wide
 * catalogue (lib/events/catalogue.ts). `custom.*` events have free-form data,
 * so their conditions accept any field.
 */
import type { EventDefinition } from "../events/define.ts";
import { CATALOGUE } from "../events/catalogue.ts";
import { fieldsOf } from "./conditions.ts";

const KNOWN = CATALOGUE as unknown as Record<string, EventDefinition>;

/** The definition of an event type, or null when it is not declared (or is a free-form custom event). */
export function eventDefinition(type: string): EventDefinition | null {
  if (type.startsWith("custom.")) return null;
  return Object.hasOwn(KNOWN, type) ? KNOWN[type] : null;
}

/** Every declared event type, sorted, with its description and fields. */
export function eventTypes(): Array<{ type: string; description: string; fields: string[] }> {
  return Object.entries(KNOWN).map(([type, d]) => ({ type, description: d.description, fields: fieldsOf(d.schema) }))
    .sort((a, b) => a.type.localeCompare(b.type));
}
