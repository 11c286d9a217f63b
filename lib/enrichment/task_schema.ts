/**
 * The enrichment task contract, kept exactly as the replaced integration
 * service had it: `{task_id, task_type, data}` in, `{task_id, id}` out. The
 * same schema validates the REST body, KV queue payloads and RabbitMQ
 * messages, so every path rejects bad input with the same message.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { type FieldIssue, formatZodError, zodIssues } from "../validation.ts";

export const TASK_TYPES = ["phone", "email", "gpt"] as const;
export type TaskType = typeof TASK_TYPES[number];

/** The longest `data` accepted: enough for a prompt, and a batch of tasks still fits one KV queue message. */
export const MAX_DATA_CHARS = 4000;

const unknownField = z.any().refine(() => false, {
  error: "is not a known field (expected task_id, task_type, data)",
});

/** One task as producers send it. Extra fields are rejected by name. */
export const taskSchema = z.object({
  task_id: z.int({ error: "must be an integer" }),
  task_type: z.enum(TASK_TYPES, { error: 'must be one of "phone", "email", "gpt"' }),
  data: z.string({ error: "must be a string" })
    .refine((s) => s.trim().length > 0, { error: "must not be empty" })
    .refine((s) => s.length <= MAX_DATA_CHARS, { error: `must be at most ${MAX_DATA_CHARS} characters` })
    // PostgreSQL cannot store U+0000 in text or jsonb: refuse it here rather than lose the row later.
    .refine((s) => !s.includes("\u0000"), { error: "must not contain NUL (\\u0000) characters" })
    // A lone UTF-16 surrogate ("\ud800" in JSON) is no character: PostgreSQL's jsonb refuses it, UTF-8 cannot
    // carry it, and an upstream echoing it back would make the row unstorable. Refuse it here, on every path.
    .refine((s) => s.isWellFormed(), {
      error: "must not contain lone UTF-16 surrogates (an unpaired \\ud800–\\udfff escape)",
    }),
}).catchall(unknownField);

export type Task = { task_id: number; task_type: TaskType; data: string };

/** The answer and the result message: `id` is the primary key of the stored row. */
export const taskResultSchema = z.object({ task_id: z.int(), id: z.int() });
export type TaskResult = z.infer<typeof taskResultSchema>;

/**
 * A stored result as the result log keeps it (`["result", org, cursor]`), `GET /results` lists it, and
 * `task.done` and `task.result` carry it.
 */
export const resultEntrySchema = taskResultSchema.extend({ task_type: z.string(), cursor: z.string(), at: z.string() });
export type ResultEntry = z.infer<typeof resultEntrySchema>;

export type TaskValidation =
  | { ok: true; task: Task }
  | { ok: false; message: string; issues: FieldIssue[] };

/** Validates one task; the message names every bad field ("task_id: must be an integer"). */
export function validateTask(value: unknown): TaskValidation {
  const parsed = taskSchema.safeParse(value);
  if (parsed.success) return { ok: true, task: parsed.data as Task };
  return { ok: false, message: formatZodError(parsed.error), issues: zodIssues(parsed.error) };
}

/** Parses a RabbitMQ message body (bytes) into a task, or a reason to reject it. */
export function parseTaskBytes(bytes: Uint8Array): TaskValidation {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return {
      ok: false,
      message: "(body): is not valid UTF-8 JSON",
      issues: [{ field: "(body)", message: "is not valid UTF-8 JSON" }],
    };
  }
  return validateTask(value);
}

/**
 * A stable fingerprint of a task's content: the same `task_id` with another
 * type or data is a conflict, not a repeat.
 */
export function taskHash(task: Task): Promise<string> {
  // node:crypto hashes in place (WebCrypto's digest is a thread hop per call); the first 12 bytes in hex.
  return Promise.resolve(createHash("sha256").update(`${task.task_type}\n${task.data}`).digest("hex").slice(0, 24));
}
