/**
 * Dedupe markers: KV queues deliver at least once, so every handler records
 * what it has done under `["dedupe", kind, key]` in the same atomic commit as
 * its effect, and checks it first.
 */

const DAY = 24 * 60 * 60 * 1000;

export type DedupeKey = Deno.KvKey;

export function dedupeKey(kind: string, ...parts: Deno.KvKeyPart[]): Deno.KvKey {
  return ["dedupe", kind, ...parts];
}

/** True when the marker exists. */
export async function isDone(kv: Deno.Kv, key: Deno.KvKey): Promise<boolean> {
  return (await kv.get(key)).versionstamp !== null;
}

/** Adds "marker absent, then set it" to an atomic operation. */
export function markDone(
  op: Deno.AtomicOperation,
  key: Deno.KvKey,
  { value = true as unknown, expireIn = 7 * DAY }: { value?: unknown; expireIn?: number } = {},
): Deno.AtomicOperation {
  return op.check({ key, versionstamp: null }).set(key, value, { expireIn });
}

/**
 * Claims `key` once: the first caller gets true, every later one false. The
 * check and the write are one atomic operation, so two racing callers cannot
 * both win.
 */
export async function claimOnce(
  kv: Deno.Kv,
  key: Deno.KvKey,
  { value = true as unknown, expireIn = 7 * DAY }: { value?: unknown; expireIn?: number } = {},
): Promise<boolean> {
  const res = await kv.atomic().check({ key, versionstamp: null }).set(key, value, { expireIn }).commit();
  return res.ok;
}
