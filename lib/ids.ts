/** Identifiers: sortable ids for records and events, random tokens for secrets. */
import { createHash } from "node:crypto";
import { decodeTime, encodeTime, monotonicFactory } from "ulid";

const nextUlid = monotonicFactory();

/** A lexicographically sortable id (ULID); later calls sort after earlier ones. */
export function newId(now = Date.now()): string {
  return nextUlid(now);
}

/** `bytes` random bytes as base64url, for tokens, session ids and CSRF values. */
export function randomToken(bytes = 32): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(buf);
}

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Hex SHA-256 of a string, for storing tokens as hashes. node:crypto hashes in place: WebCrypto's
 * `digest` hops to a worker thread and back, ~10× the cost, and every API request hashes its token.
 */
export function sha256Hex(text: string): Promise<string> {
  return Promise.resolve(createHash("sha256").update(text).digest("hex"));
}

/** The largest time a ULID can carry (48 bits of epoch ms, the year 10889). */
export const MAX_ID_TIME = 2 ** 48 - 1;

/** The smallest ULID of the millisecond `ms`: every id made at or after `ms` sorts at or after it. */
export function idFloor(ms: number): string {
  // Clamped to ULID's 48-bit time: a far-future bound (a query's `to=+020000-01-01`) would make encodeTime throw.
  return encodeTime(Math.min(MAX_ID_TIME, Math.max(0, Math.floor(ms))), 10) + "0".repeat(16);
}

/** When a ULID was made (epoch ms), or null for an id that is not a ULID. */
export function idTime(id: string): number | null {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return null;
  try {
    return decodeTime(id);
  } catch {
    return null;
  }
}
