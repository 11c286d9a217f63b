/**
 * Mail attachments forwarded as Telegram documents (a mailbox option, off by
 * default). A file under the mailbox's size cap is kept in KV as a blob —
 * content-addressed (a re-read mail stores nothing new), in chunks under
 * KV's 64 KiB value limit, for a week (a delivery may wait out a Telegram
 * outage for a day) — and the `mail.received` event names it by `blobId`; a
 * larger one is marked `skipped` with the reason. The router turns these into
 * the delivery's documents and a note under the message listing what was not
 * sent (`mailDocuments`); a digest sends its mails' documents after its text,
 * within a count and size of its own (`digestDocuments`) — the week the blobs
 * are kept outlasts the longest digest window (a day) and a day's outage.
 */
import { createHash } from "node:crypto";
import { escapeHtml } from "../template.ts";

const CHUNK = 60_000;
const BLOB_TTL = 7 * 24 * 3600_000;

/** Default and ceiling of a mailbox's cap (Telegram takes up to 50 MB; KV is not a file store). */
export const ATTACHMENT_CAP_DEFAULT = 5 * 1024 * 1024;
export const ATTACHMENT_CAP_MAX = 20 * 1024 * 1024;

/** An attachment as `mail.received` lists it. */
export interface MailAttachment {
  filename: string;
  mimeType: string;
  size: number;
  /** Kept for forwarding (the mailbox forwards attachments and this one is under its cap). */
  blobId?: string;
  /** Why it is listed but not forwarded. */
  skipped?: string;
}

/** A document a delivery sends after its text. */
export interface DeliveryDocument {
  blobId: string;
  filename: string;
  mimeType: string;
  size: number;
}

const blobKey = (org: string, id: string, i: number) => ["nblob", org, id, i];
const metaKey = (org: string, id: string) => ["nblob_meta", org, id];

/** Keeps `bytes` as a blob of the organization; returns its id (the same bytes give the same id). */
export async function storeBlob(kv: Deno.Kv, org: string, bytes: Uint8Array): Promise<string> {
  const id = createHash("sha256").update(bytes).digest("hex").slice(0, 40);
  const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK));
  // Chunks first, the meta record last: a blob whose meta exists is complete. A chunk is one
  // write of its own (an atomic commit is limited to 800 KiB).
  for (let i = 0; i < chunks; i++) {
    await kv.set(blobKey(org, id, i), bytes.subarray(i * CHUNK, (i + 1) * CHUNK), { expireIn: BLOB_TTL });
  }
  await kv.set(metaKey(org, id), { size: bytes.length, chunks }, { expireIn: BLOB_TTL });
  return id;
}

/** The blob's bytes, or null when it expired or never completed. */
export async function readBlob(kv: Deno.Kv, org: string, id: string): Promise<Uint8Array | null> {
  const meta = (await kv.get<{ size: number; chunks: number }>(metaKey(org, id))).value;
  if (!meta) return null;
  const out = new Uint8Array(meta.size);
  let offset = 0;
  for (let i = 0; i < meta.chunks; i++) {
    const part = (await kv.get<Uint8Array>(blobKey(org, id, i))).value;
    if (!part) return null;
    out.set(part, offset);
    offset += part.length;
  }
  return offset === meta.size ? out : null;
}

/** "12,3 МБ", "25 МБ", "850 КБ", "120 Б". */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, "").replace(".", ",")} МБ`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} КБ`;
  return `${bytes} Б`;
}

/**
 * What a mail event's attachments add to a Telegram delivery: the documents
 * to send after the text, and a note (Telegram HTML) listing the attachments
 * that were not forwarded and why. Nothing for other events.
 */
export function mailDocuments(
  event: { type: string; data: Record<string, unknown> },
): { documents: DeliveryDocument[]; note: string } {
  if (event.type !== "mail.received" || !Array.isArray(event.data.attachments)) return { documents: [], note: "" };
  const list = event.data.attachments as MailAttachment[];
  const documents = list.filter((a) => a.blobId).map((a) => ({
    blobId: a.blobId!,
    filename: a.filename,
    mimeType: a.mimeType,
    size: a.size,
  }));
  const skipped = list.filter((a) => a.skipped);
  const note = skipped.length
    ? `\n\n📎 Не переслано: ${
      skipped.map((a) => `${escapeHtml(a.filename)} (${formatSize(a.size)}) — ${escapeHtml(a.skipped!)}`).join("; ")
    }`
    : "";
  return { documents, note };
}

/** The most documents one digest sends after its text (a burst of mail must not become a burst of uploads). */
export const DIGEST_DOCUMENTS_MAX = 10;
/** The most bytes of documents one digest sends: one mailbox's ceiling for a single attachment. */
export const DIGEST_DOCUMENT_BYTES = ATTACHMENT_CAP_MAX;
/** How many of the files not sent a digest names before "and N more". */
const DIGEST_UNSENT_NAMED = 10;

/**
 * The documents a digest sends after its text: its mails' kept attachments in the order of the
 * items, each file once (content-addressed: the same bytes in two mails are one blob), up to
 * DIGEST_DOCUMENTS_MAX files and DIGEST_DOCUMENT_BYTES in all; the rest are named in a note
 * (Telegram HTML) with the reason.
 */
export function digestDocuments(lists: DeliveryDocument[][]): { documents: DeliveryDocument[]; note: string } {
  const documents: DeliveryDocument[] = [];
  const unsent: DeliveryDocument[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const doc of lists.flat()) {
    if (seen.has(doc.blobId)) continue;
    seen.add(doc.blobId);
    if (documents.length < DIGEST_DOCUMENTS_MAX && bytes + doc.size <= DIGEST_DOCUMENT_BYTES) {
      documents.push(doc);
      bytes += doc.size;
    } else unsent.push(doc);
  }
  if (!unsent.length) return { documents, note: "" };
  // Names cut to 100 characters: the note must leave the digest room for its items.
  const name = (d: DeliveryDocument) => d.filename.length > 100 ? `${d.filename.slice(0, 99)}…` : d.filename;
  const named = unsent.slice(0, DIGEST_UNSENT_NAMED).map((d) => `${escapeHtml(name(d))} (${formatSize(d.size)})`);
  const more = unsent.length > named.length ? ` и ещё ${unsent.length - named.length}` : "";
  const note = `\n\n📎 Не переслано: ${named.join("; ")}${more} — в сводке не больше ${DIGEST_DOCUMENTS_MAX} файлов и ${
    formatSize(DIGEST_DOCUMENT_BYTES)
  }`;
  return { documents, note };
}
