/**
 * Data as a list of "key: value" lines instead of a JSON string: nested
 * objects become dotted keys (`results.0.task_id`), long values wrap, and
 * `labels` rename known keys into words. Used by islands and server pages.
 */

export type KvLabels = Record<string, string>;

/** Flattens `value` into [key, text] pairs, at most `limit` of them. */
export function flatten(value: unknown, limit = 40): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (v: unknown, path: string) => {
    if (out.length >= limit) return;
    if (v !== null && typeof v === "object") {
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      if (entries.length === 0) out.push([path || "—", Array.isArray(v) ? "[]" : "{}"]);
      for (const [k, x] of entries) walk(x, path ? `${path}.${k}` : k);
      return;
    }
    out.push([path || "—", v === null || v === undefined ? "—" : String(v)]);
  };
  walk(value, "");
  return out;
}

export function KeyValues(
  { data, labels = {}, limit = 40, testId }: { data: unknown; labels?: KvLabels; limit?: number; testId?: string },
) {
  const rows = flatten(data, limit);
  if (rows.length === 0) return null;
  return (
    <dl class="kv" data-testid={testId}>
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{labels[k] ?? k}</dt>
          <dd>{v.length > 500 ? `${v.slice(0, 500)}…` : v}</dd>
        </div>
      ))}
    </dl>
  );
}
