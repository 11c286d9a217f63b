/**
 * KV list cursors come back from clients (`?cursor=`). Deno KV rejects one it
 * cannot decode with a TypeError on the first read; that is the client's
 * mistake, so it answers 422 naming the field instead of a 500.
 */
import { ValidationError } from "../errors.ts";

/** Iterates `iter` listed from `cursor`; a cursor KV rejects on the first read becomes a 422 naming `field`. */
export async function* fromCursor<T>(
  iter: Deno.KvListIterator<T>,
  cursor: string | undefined,
  field = "cursor",
): AsyncGenerator<Deno.KvEntry<T>, void, undefined> {
  if (!cursor) return yield* iter;
  let first: IteratorResult<Deno.KvEntry<T>, undefined>;
  try {
    first = await iter.next();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new ValidationError([{ field, message: "not a cursor from an earlier answer" }]);
  }
  if (first.done) return;
  yield first.value;
  for await (const entry of iter) yield entry;
}
