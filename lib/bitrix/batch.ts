/**
 * The `batch` wire format (reference §1.11): each command is a method name
 * plus a PHP-style query string (`filter[RESPONSIBLE_ID]=5&select[0]=ID`),
 * at most 50 per call, one HTTP request against the rate limit.
 */

/** Most commands one batch call may carry. */
export const BATCH_MAX = 50;

export interface BatchCommand {
  method: string;
  params?: Record<string, unknown>;
}

/** Merged answer of one or more batch calls, keyed by command key. */
export interface BatchOutcome {
  result: Record<string, unknown>;
  error: Record<string, { error: string; error_description: string }>;
  total: Record<string, number>;
  next: Record<string, number>;
}

/**
 * Encodes params like PHP's http_build_query: nested objects as `a[b]=`, arrays
 * as `a[0]=`; booleans as Y/N is wrong for some methods, so callers pass
 * strings or numbers where it matters.
 */
export function toQuery(params: Record<string, unknown>): string {
  const parts: string[] = [];
  const walk = (prefix: string, value: unknown) => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(`${prefix}[${i}]`, v));
    } else if (typeof value === "object") {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        walk(`${prefix}[${encodeURIComponent(k)}]`, v);
      }
    } else {
      parts.push(`${prefix}=${encodeURIComponent(typeof value === "boolean" ? (value ? "1" : "0") : String(value))}`);
    }
  };
  for (const [k, v] of Object.entries(params)) walk(encodeURIComponent(k), v);
  return parts.join("&");
}

/**
 * Parses a PHP-style query string back into nested values (for the fake and
 * for form-encoded requests). `a[0]=x&a[1]=y` becomes an array.
 */
export function fromQuery(query: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const pair of query.split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const rawKey = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, " "));
    const value = eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
    const m = rawKey.match(/^([^[]*)((?:\[[^\]]*\])*)$/);
    const path = m ? [m[1], ...[...m[2].matchAll(/\[([^\]]*)\]/g)].map((x) => x[1])] : [rawKey];
    let node: Record<string, unknown> = root;
    for (let i = 0; i < path.length; i++) {
      let key = path[i];
      const last = i === path.length - 1;
      if (key === "") key = String(Object.keys(node).length);
      if (last) node[key] = value;
      else node = (node[key] ??= {}) as Record<string, unknown>;
    }
  }
  return arraysFromIndexes(root) as Record<string, unknown>;
}

function arraysFromIndexes(v: unknown): unknown {
  if (!v || typeof v !== "object") return v;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (const k of keys) obj[k] = arraysFromIndexes(obj[k]);
  if (keys.length && keys.every((k, i) => k === String(i))) return keys.map((k) => obj[k]);
  return obj;
}

/** Splits commands into chunks of at most BATCH_MAX. */
export function chunkCommands(cmds: Record<string, BatchCommand>): Array<Record<string, BatchCommand>> {
  const entries = Object.entries(cmds);
  const out: Array<Record<string, BatchCommand>> = [];
  for (let i = 0; i < entries.length; i += BATCH_MAX) out.push(Object.fromEntries(entries.slice(i, i + BATCH_MAX)));
  return out;
}

/** The `cmd` map of a batch request body. */
export function encodeCommands(cmds: Record<string, BatchCommand>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, c] of Object.entries(cmds)) {
    const q = c.params ? toQuery(c.params) : "";
    out[key] = q ? `${c.method}?${q}` : c.method;
  }
  return out;
}

/** An empty outcome to merge chunk answers into. */
export function emptyOutcome(): BatchOutcome {
  return { result: {}, error: {}, total: {}, next: {} };
}
