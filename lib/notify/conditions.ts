/**
 * Rule conditions over an event's own fields: `contains`, `equals`, `regex`,
 * combined with `all` or `any`. Fields are checked against the event type's
 * zod schema when a rule is saved, so a typo is a 422, not a rule that never
 * fires. Regexes have a length limit and are tried on a bounded input, so a
 * tenant's pattern cannot stall the hub.
 */
import { z } from "zod";
import { valueAt } from "./template.ts";

export const REGEX_MAX_LENGTH = 200;
/** Regexes look only at this many characters of a field (a mail body can be long). */
export const REGEX_INPUT_LIMIT = 10_000;

export const conditionSchema = z.object({
  field: z.string().min(1).max(100).regex(/^[\w]+(\.[\w]+)*$/, "must be a field name such as subject or task.title"),
  op: z.enum(["contains", "equals", "regex"]),
  value: z.string().max(1000),
});
export type Condition = z.infer<typeof conditionSchema>;

export const matchSchema = z.enum(["all", "any"]);

/** Nested groups and patterns a regex engine backtracks on exponentially: `(a+)+`, `(a*)*`, `(a|a)*`. */
const CATASTROPHIC = /\([^)]*[+*][^)]*\)[+*{]|\(([^)|]+)\|\1\)[+*]/;

/** Why `pattern` is not an acceptable rule regex, or null. */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > REGEX_MAX_LENGTH) return `must be at most ${REGEX_MAX_LENGTH} characters`;
  if (CATASTROPHIC.test(pattern)) {
    return "nested repetition such as (a+)+ is not allowed (it can take exponential time)";
  }
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    return `is not a valid regular expression: ${(error as Error).message}`;
  }
  return null;
}

/** The zod schema at a dotted path of an object schema, or null when there is no such field. */
export function fieldSchema(schema: z.ZodType, path: string): z.ZodType | null {
  let cur: z.ZodType = schema;
  for (const part of path.split(".")) {
    cur = unwrap(cur);
    if (!(cur instanceof z.ZodObject)) return null;
    const next = (cur.shape as Record<string, z.ZodType>)[part];
    if (!next) return null;
    cur = next;
  }
  return unwrap(cur);
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable || cur instanceof z.ZodDefault) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur;
}

/** The fields of an object schema, dotted, for the rules editor. */
export function fieldsOf(schema: z.ZodType, prefix = ""): string[] {
  const s = unwrap(schema);
  if (!(s instanceof z.ZodObject)) return [];
  const out: string[] = [];
  for (const [name, child] of Object.entries(s.shape as Record<string, z.ZodType>)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const inner = unwrap(child);
    if (inner instanceof z.ZodObject) out.push(...fieldsOf(inner, path));
    else out.push(path);
  }
  return out;
}

/**
 * Problems of a rule's conditions against the event's schema, each naming the
 * condition (`conditions.1.field: …`); empty when the rule may be saved.
 * A schema that is not an object (an event type not yet in the catalogue) accepts any field.
 */
export function conditionProblems(conditions: Condition[], schema: z.ZodType | null): string[] {
  const problems: string[] = [];
  conditions.forEach((c, i) => {
    if (schema && unwrap(schema) instanceof z.ZodObject && !fieldSchema(schema, c.field)) {
      problems.push(`conditions.${i}.field: the event has no field ${c.field}`);
    }
    if (c.op === "regex") {
      const p = regexProblem(c.value);
      if (p) problems.push(`conditions.${i}.value: ${p}`);
    }
  });
  return problems;
}

function fieldText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
}

/**
 * The lower-cased text of a field, computed once per event however many rules ask (with a thousand
 * rules, lower-casing a mail's text for each was most of the cost). Keyed by the event's view object,
 * so it goes away with the event. `toLowerCase` maps Cyrillic as the Russian locale does.
 */
const loweredCache = new WeakMap<object, Map<string, string>>();
function lowered(d: Record<string, unknown>, field: string): string {
  let fields = loweredCache.get(d);
  if (!fields) loweredCache.set(d, fields = new Map());
  let text = fields.get(field);
  if (text === undefined) fields.set(field, text = fieldText(valueAt(d, field)).toLowerCase());
  return text;
}

/** Compiles conditions once (rules are evaluated for every event). */
export function compileConditions(
  conditions: Condition[],
  match: "all" | "any",
): (data: Record<string, unknown>) => boolean {
  const tests = conditions.map((c): (data: Record<string, unknown>) => boolean => {
    if (c.op === "equals") return (d) => fieldText(valueAt(d, c.field)) === c.value;
    if (c.op === "contains") {
      const needle = c.value.toLowerCase();
      return (d) => lowered(d, c.field).includes(needle);
    }
    const re = new RegExp(c.value, "iu");
    return (d) => re.test(fieldText(valueAt(d, c.field)).slice(0, REGEX_INPUT_LIMIT));
  });
  if (tests.length === 0) return () => true;
  return match === "all" ? (d) => tests.every((t) => t(d)) : (d) => tests.some((t) => t(d));
}
