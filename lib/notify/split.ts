/**
 * Telegram refuses texts over 4,096 characters: long notifications are sent
 * as several messages, cut at a line break (or a space) where one is near the
 * limit, and never inside an HTML tag or entity.
 */

export const TELEGRAM_TEXT_LIMIT = 4096;

/** Splits `text` into parts of at most `limit` characters (code units), in order. */
export function splitMessage(text: string, { limit = TELEGRAM_TEXT_LIMIT }: { limit?: number } = {}): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf("\n", limit);
    if (cut < limit / 2) cut = rest.lastIndexOf(" ", limit);
    if (cut < limit / 2) cut = limit;
    // Never cut inside a tag (`<b …>`) or an entity (`&amp;`): step back to its start.
    const open = Math.max(rest.lastIndexOf("<", cut - 1), rest.lastIndexOf("&", cut - 1));
    const close = Math.max(rest.lastIndexOf(">", cut - 1), rest.lastIndexOf(";", cut - 1));
    if (open > close && open > 0) cut = open;
    // A surrogate pair (emoji) stays whole.
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, "");
  }
  if (rest.length || parts.length === 0) parts.push(rest);
  return parts;
}
