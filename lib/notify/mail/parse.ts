/**
 * A raw mail (RFC 5322 bytes) to what rules and messages need: postal-mime
 * decodes RFC 2047 headers and 8-bit bodies in UTF-8, windows-1251 and KOI8-R;
 * an HTML-only body is reduced to readable text with html-to-text;
 * attachments are listed (name, type, size). Both load with the first mail
 * (as imapflow and node-pop3 do): a hub without mailboxes never needs them.
 */

export interface ParsedMail {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  date?: string;
  text: string;
  /** Each attachment with its bytes (the poller keeps those it forwards, lib/notify/mail/attachments.ts). */
  attachments: Array<{ filename: string; mimeType: string; size: number; content: Uint8Array }>;
}

/** Text longer than this is cut (events stay well under KV's value limit). */
export const MAIL_TEXT_LIMIT = 8000;

type Address = { name?: string; address?: string; group?: Address[] };

function addr(a: Address | Address[] | undefined): string {
  if (!a) return "";
  const list = Array.isArray(a) ? a : [a];
  return list.flatMap((x) => x.group ?? [x]).map((x) =>
    x.name && x.address ? `${x.name} <${x.address}>` : x.address ?? x.name ?? ""
  ).filter(Boolean).join(", ");
}

export async function parseMail(raw: Uint8Array): Promise<ParsedMail> {
  const { default: PostalMime } = await import("postal-mime");
  const m = await PostalMime.parse(raw);
  let text = m.text?.trim() ?? "";
  if (!text && m.html) {
    const { convert } = await import("html-to-text");
    text = convert(m.html, {
      wordwrap: false,
      selectors: [{ selector: "a", options: { ignoreHref: true } }, { selector: "img", format: "skip" }],
    }).trim();
  }
  if (text.length > MAIL_TEXT_LIMIT) text = `${text.slice(0, MAIL_TEXT_LIMIT)}…`;
  return {
    messageId: (m.messageId ?? "").trim(),
    from: addr(m.from as Address | undefined),
    to: addr(m.to as Address[] | undefined),
    subject: (m.subject ?? "").trim(),
    date: m.date,
    text,
    attachments: (m.attachments ?? []).map((a) => {
      const content = typeof a.content === "string"
        ? new TextEncoder().encode(a.content)
        : new Uint8Array(a.content as ArrayBuffer);
      return { filename: a.filename ?? "attachment", mimeType: a.mimeType, size: content.length, content };
    }),
  };
}

/**
 * The header block of a mail's first bytes (up to and with the blank line that ends it): what an
 * oversized mail is parsed from when only its beginning was read. Without a blank line in `head`
 * the bytes are taken as all headers.
 */
export function headerBlock(head: Uint8Array): Uint8Array {
  for (let i = 0; i + 1 < head.length; i++) {
    if (head[i] !== 0x0a) continue;
    if (head[i + 1] === 0x0a) return head.subarray(0, i + 2);
    if (head[i + 1] === 0x0d && head[i + 2] === 0x0a) return head.subarray(0, i + 3);
  }
  return head;
}
