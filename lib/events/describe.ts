/**
 * The catalogue as data for `GET /api/v1/events/types` and the rules editor:
 * each type with its title, description, the JSON Schema of its data
 * (`z.toJSONSchema`) and its fields flattened to dotted paths.
 */
import { z } from "zod";
import { CATALOGUE } from "./catalogue.ts";
import type { EventDefinition, EventTitle } from "./define.ts";

/** One field of an event's data, as a rule condition names it. */
export interface EventField {
  /** Dotted path: `responsible.name`. */
  path: string;
  /** JSON Schema type(s): `string`, `integer`, `string|null`, `array`… */
  type: string;
  required: boolean;
}

export interface EventTypeInfo {
  type: string;
  title: EventTitle;
  description: string;
  /** JSON Schema (draft 2020-12) of the event's `data`. */
  schema: Record<string, unknown>;
  fields: EventField[];
}

type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  const?: unknown;
  enum?: unknown[];
};

let described: EventTypeInfo[] | undefined;

/** Every catalogue type, sorted by name (computed once). */
export function describeCatalogue(): EventTypeInfo[] {
  described ??= Object.entries(CATALOGUE as Record<string, EventDefinition>)
    .map(([type, def]) => describeEvent(type, def))
    .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return described;
}

/** One type's description. */
export function describeEvent(type: string, def: EventDefinition): EventTypeInfo {
  const schema = z.toJSONSchema(def.schema, { unrepresentable: "any" }) as Record<string, unknown>;
  return { type, title: def.title, description: def.description, schema, fields: fieldsOf(schema as JsonSchema) };
}

function fieldsOf(schema: JsonSchema, prefix = ""): EventField[] {
  const out: EventField[] = [];
  const required = new Set(schema.required ?? []);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    const object = objectOf(child);
    if (object) out.push(...fieldsOf(object, path));
    else out.push({ path, type: typeOf(child), required: required.has(name) });
  }
  return out;
}

/** The object schema inside `s` (directly or as the non-null branch of a nullable), or null. */
function objectOf(s: JsonSchema): JsonSchema | null {
  if (s.properties) return s;
  const branches = (s.anyOf ?? []).filter((b) => b.type !== "null");
  return branches.length === 1 && branches[0].properties ? branches[0] : null;
}

function typeOf(s: JsonSchema): string {
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join("|");
  if (Array.isArray(s.type)) return s.type.join("|");
  if (s.type) return s.type;
  if (s.const !== undefined) return typeof s.const;
  if (s.enum) return [...new Set(s.enum.map((v) => typeof v))].join("|");
  return "any";
}
