/** Identifiers: sortable ids for records and events, random tokens for secrets. */
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

/** Hex SHA-256 of a string, for storing tokens as hashes. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
