/**
 * Message templates: `{{field}}` and `{{a.b}}` placeholders filled from an
 * event's data. Values are HTML-escaped for Telegram's HTML parse mode, so an
 * event field can never inject markup; the template's own tags stay.
 */

const PLACEHOLDER = /\{\{\s*([\w.]+)\s*\}\}/g;

/** Escapes the three characters Telegram's HTML mode requires (and `"` for attributes). */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** The value at a dotted path of `data`, or undefined. */
export function valueAt(data: unknown, path: string): unknown {
  let cur: unknown = data;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return JSON.stringify(value);
}

/**
 * Fills a template. `escape: false` gives plain text (repeat-window keys, webhook bodies).
 *
 * @example renderTemplate("<b>{{name}}</b> failed", { name: "a<b" }) // "<b>a&lt;b</b> failed"
 */
export function renderTemplate(
  template: string,
  data: Record<string, unknown>,
  { escape = true }: { escape?: boolean } = {},
): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const text = asText(valueAt(data, path));
    return escape ? escapeHtml(text) : text;
  });
}

/** The placeholder paths a template uses, for checking them against the event's schema at save. */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

/** Telegram-HTML to plain text: the fallback when Telegram refuses the markup. */
export function htmlToPlain(html: string): string {
  return html.replace(/<[^>]*>/g, "").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&");
}
