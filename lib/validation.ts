/** Turning zod errors into messages and details a person can act on. */
import type { z } from "zod";

export interface FieldIssue {
  field: string;
  message: string;
}

const fieldName = (path: PropertyKey[]) => (path.length ? path.map(String).join(".") : "(body)");

/**
 * One entry per problem, with the field path in dotted form (`tasks.0.title`).
 * Unknown keys of a strict object are named one by one, not as their parent.
 */
export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((k) => ({ field: fieldName([...i.path, k]), message: "is not a known field" }))
      : [{ field: fieldName(i.path), message: i.message }]
  );
}

/** One line naming every bad field: "task_id: expected number; data: too short". */
export function formatZodError(error: z.ZodError): string {
  return zodIssues(error).map((i) => `${i.field}: ${i.message}`).join("; ");
}
