/**
 * Queue depth from KV state: every message on the queue has a marker
 * `["qpending", id, attempt]`, set in the commit that enqueues it and
 * deleted once a handler has settled that delivery. The depth is the number
 * of markers — true after any crash, because nothing lives in memory: a
 * message a killed process was handling keeps its marker until its
 * redelivery settles, and a settled one has none (a counter pair of
 * enqueued − settled loses the increments a process had not flushed).
 */

const PREFIX = "qpending";
/** Markers outlive any backoff; they expire only if the KV queue itself gave a message up. */
const MARKER_TTL = 30 * 24 * 3600_000;
/** Counting stops here (a list of markers costs a read per marker). */
export const MAX_COUNTED_DEPTH = 100_000;

/** The marker of one delivery of a message: its envelope id and attempt (a retry re-enqueues the same id). */
export function pendingKey(id: string, attempt = 0): Deno.KvKey {
  return [PREFIX, id, attempt];
}

/** Adds the marker of an enqueued message to the enqueue's atomic operation. */
export function markPending(op: Deno.AtomicOperation, kind: string, id: string, attempt = 0): void {
  op.set(pendingKey(id, attempt), kind, { expireIn: MARKER_TTL });
}

/** Removes the marker of a settled delivery (done, re-enqueued as the next attempt, or dead-lettered). */
export async function settlePending(kv: Deno.Kv, id: string, attempt = 0): Promise<void> {
  await kv.delete(pendingKey(id, attempt));
}

/** Messages on the queue now (delayed retries included), up to `MAX_COUNTED_DEPTH`. */
export async function countPending(kv: Deno.Kv): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: [PREFIX] }, { limit: MAX_COUNTED_DEPTH, batchSize: 1000 })) n++;
  return n;
}
