/** Event type filters. Pure: islands may import it. */

/**
 * True when `type` is in `types`: an entry matches exactly, or by prefix with
 * a trailing `*` (`task.*` matches `task.done`).
 *
 * @example
 * ```ts
 * matchesType("task.done", ["task.*"]); // true
 * ```
 */
export function matchesType(type: string, types: readonly string[]): boolean {
  return types.some((t) => t === type || (t.endsWith("*") && type.startsWith(t.slice(0, -1))));
}
