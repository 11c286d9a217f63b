/** Hourly buckets and ULID bounds for time-ordered KV scans. */
import { decodeTime, encodeTime } from "ulid";

export const HOUR = 3_600_000;

/** The start of the hour that contains `ms`. */
export function hourStart(ms: number): number {
  return Math.floor(ms / HOUR) * HOUR;
}

/** The starts of the last `count` hours, oldest first; the last one is the current (partial) hour. */
export function lastHours(now: number, count = 24): number[] {
  const current = hourStart(now);
  return Array.from({ length: count }, (_, i) => current - (count - 1 - i) * HOUR);
}

/** The smallest ULID of the millisecond `ms`: every id made at or after `ms` sorts at or after it. */
export function idFloor(ms: number): string {
  return encodeTime(Math.max(0, Math.floor(ms)), 10) + "0".repeat(16);
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

/** Index of the bucket `at` falls in, or -1 outside the window. */
export function bucketIndex(hours: number[], at: number): number {
  if (!hours.length || at < hours[0] || at >= hours[hours.length - 1] + HOUR) return -1;
  return Math.floor((at - hours[0]) / HOUR);
}
