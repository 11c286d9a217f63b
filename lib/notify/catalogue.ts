/**
 * The event types rules can match, with their schemas. Until the hub-wide
 * catalogue (lib/events/) gathers every capability's definitions, this module
 * collects the ones that exist; a type that is not declared anywhere still
 * can be matched, and its conditions accept any field.
 */
import type { EventDefinition } from "../events/define.ts";
import { notifyEvents } from "./events.ts";
import { slaEvents } from "../sla/events.ts";
import { fieldsOf } from "./conditions.ts";

const KNOWN: Record<string, EventDefinition> = { ...notifyEvents, ...slaEvents };

/** The definition of an event type, or null when it is not declared. */
export function eventDefinition(type: string): EventDefinition | null {
  return KNOWN[type] ?? null;
}

/** Every declared event type, sorted, with its description. */
export function eventTypes(): Array<{ type: string; description: string; fields: string[] }> {
  return Object.entries(KNOWN).map(([type, d]) => ({ type, description: d.description, fields: fieldsOf(d.schema) }))
    .sort((a, b) => a.type.localeCompare(b.type));
}
