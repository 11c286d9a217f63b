/** Hourly buckets for the dashboard's charts (ULID bounds for time-ordered scans: lib/ids.ts). */

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

/** Index of the bucket `at` falls in, or -1 outside the window. */
export function bucketIndex(hours: number[], at: number): number {
  if (!hours.length || at < hours[0] || at >= hours[hours.length - 1] + HOUR) return -1;
  return Math.floor((at - hours[0]) / HOUR);
}
