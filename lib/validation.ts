/** Turning zod errors into messages and details a person can act on. */
import type { z } from "zod";

/** One problem with one input field: the field's dotted path and what is wrong with it. */
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
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join("; ");
}

/** {@link formatIssues} of a zod error. */
export function formatZodError(error: z.ZodError): string {
  return formatIssues(zodIssues(error));
}

/**
 * The message of a validation failure — the one place the API's
 * "Invalid request: field: message; …" text is built. `prefix` replaces
 * "Invalid request" where an operation names itself ("Cannot save schedule").
 *
 * @example
 * invalidMessage([{ field: "cron", message: "5 fields" }]); // "Invalid request: cron: 5 fields"
 */
export function invalidMessage(issues: readonly FieldIssue[], prefix = "Invalid request"): string {
  return `${prefix}: ${formatIssues(issues)}`;
}
