/**
 * Mail attachments forwarded as Telegram documents (a mailbox option, off by
 * default). A file under the mailbox's size cap is kept in KV as a blob —
 * content-addressed (a re-read mail stores nothing new), in chunks under
 * KV's 64 KiB value limit, for a week (a delivery may wait out a Telegram
 * outage for a day) — and the `mail.received` event names it by `blobId`; a
 * larger one is marked `skipped` with the reason. The router turns these into
 * the delivery's documents and a note under the message listing what was not
 * sent (`mailDocuments`).
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
