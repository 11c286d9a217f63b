/** Turning zod errors into messages and details a person can act on. */
import type { z } from "zod";

export interface FieldIssue {
  field: string;
  message: string;
}

/** One entry per problem, with the field path in dotted form (`tasks.0.title`). */
export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join(".") : "(body)",
    message: i.message,
  }));
}

/** One line naming every bad field: "task_id: expected number; data: too short". */
export function formatZodError(error: z.ZodError): string {
  return zodIssues(error).map((i) => `${i.field}: ${i.message}`).join("; ");
}
