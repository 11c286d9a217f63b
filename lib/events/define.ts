import type { z } from "zod";
export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  description: string;
  schema: S;
}
export function defineEvent<S extends z.ZodType>(def: EventDefinition<S>): EventDefinition<S> {
  return def;
}
