/**
 * One structured logger: JSON lines with a category per area. Values under
 * keys that look secret are replaced before anything is written, so a token
 * or password passed by mistake never reaches a log line.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(category: string): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|cookie|webhook|x-secret|credential|private/i;

/** Replaces secret-looking values, recursively, and turns errors into plain objects. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[deep]";
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && typeof v !== "boolean"
        ? "[redacted]"
        : redact(v, depth + 1);
    }
    return out;
  }
  if (typeof value === "string") return redactText(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** Masks credentials that hide inside URLs and headers quoted in text. */
export function redactText(text: string): string {
  return text
    .replace(/(\/rest\/\d+\/)[^/\s"']+/g, "$1[redacted]")
    .replace(/(\/bot)\d+:[\w-]+/g, "$1[redacted]")
    .replace(/((?:Bearer|Token|Api-Key)\s+)[\w.\-~+/=]+/gi, "$1[redacted]")
    .replace(/(\w+:\/\/[^:/\s]+:)[^@\s]+@/g, "$1[redacted]@")
    .replace(
      /([?&](?:[\w-]*(?:token|key|secret|password|passwd|signature|sig|auth)[\w-]*)=)[^&#\s"']+/gi,
      "$1[redacted]",
    );
}

/** Creates a logger writing JSON lines to `sink` (stdout by default). */
export function createLogger(
  // deno-lint-ignore no-console
  { level = "info", sink = (line: string) => console.log(line), category = "hub" }: {
    level?: LogLevel;
    sink?: LogSink;
    category?: string;
  } = {},
): Logger {
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const record = {
      t: new Date().toISOString(),
      level: lvl,
      cat: category,
      msg: redactText(msg),
      ...(fields ? redact(fields) as LogFields : {}),
    };
    sink(JSON.stringify(record));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (cat) => createLogger({ level, sink, category: `${category}.${cat}` }),
  };
}

/** A logger that keeps its lines in memory, for tests. */
export function memoryLogger(level: LogLevel = "debug"): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ level, sink: (l) => lines.push(l) }), { lines });
}
