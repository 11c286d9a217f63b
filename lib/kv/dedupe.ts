/**
 * Dedupe keys: KV queues deliver at least once, so a handler whose effect must
 * happen once records it under `["dedupe", kind, …]` — checked and written in
 * the same `kv.atomic()` as the effect itself (a commit that fails its check
 * means another delivery got there first). Which parts name "the same work" is
 * the handler's choice: the envelope id (`task.result`), or what the message is
 * about (`schedule.fire`: schedule and planned time, so two messages for one
 * occurrence also run it once).
 */

/** The key of one unit of work of a kind. */
export function dedupeKey(kind: string, ...parts: Deno.KvKeyPart[]): Deno.KvKey {
  return ["dedupe", kind, ...parts];
}
