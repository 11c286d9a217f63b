/** Identifiers: sortable ids for records and events, random tokens for secrets. */
import { createHash } from "node:crypto";
import { monotonicFactory } from "ulid";

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
