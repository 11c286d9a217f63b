/**
 * Sizing Deno KV operations — the one chunker of enrichment. Deno 2.9
 * refuses a commit whose mutations total more than 819,200 bytes (and any
 * value over 64 KiB), with a TypeError; the task store keeps its commits
 * under `MAX_COMMIT_BYTES` by estimate and splits a commit that is still
 * refused. `getMany` takes at most ten keys.
 */

/** Keys one `kv.getMany` takes at most. */
export const GET_MANY_KEYS = 10;

/** The budget of one commit by estimate, well under KV's 819,200 bytes. */
export const MAX_COMMIT_BYTES = 600_000;

/**
 * Estimated stored size of a value. KV serializes values with V8, which keeps
 * a string with any non-Latin-1 character at two bytes per UTF-16 unit, so a
 * value with any non-ASCII character counts two bytes for every character.
 */
export function estimateBytes(value: unknown): number {
  const json = JSON.stringify(value) ?? "";
  // deno-lint-ignore no-control-regex
  return /[^\x00-\x7f]/.test(json) ? json.length * 2 : json.length;
}

/** Whether KV refused a commit (or a value) for its size, rather than for a conflict or an outage. */
export function isSizeError(error: unknown): boolean {
  return error instanceof TypeError && /too large/i.test(error.message);
}

/** Splits items into runs whose estimated sizes stay within `budget` (a larger single item gets a run of its own). */
export function chunkBySize<T>(
  items: T[],
  sizeOf: (item: T) => number,
  maxCount: number,
  budget = MAX_COMMIT_BYTES,
): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let size = 0;
  for (const item of items) {
    const n = sizeOf(item);
    if (cur.length && (cur.length >= maxCount || size + n > budget)) {
      out.push(cur);
      [cur, size] = [[], 0];
    }
    cur.push(item);
    size += n;
  }
  if (cur.length) out.push(cur);
  return out;
}
