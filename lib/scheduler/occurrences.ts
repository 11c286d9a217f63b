/**
 * When a schedule fires: croner computes the occurrences of a cron expression
 * in an IANA time zone (DST gaps and repeats included), and these helpers turn
 * them into epoch milliseconds over half-open windows `[from, to)`.
 *
 * Croner's DST behaviour, pinned by tests: a wall time that does not exist
 * (02:30 on a spring-forward night in Europe/Berlin) fires at the first instant
 * after the gap (03:30 local); a wall time that happens twice (02:30 on the
 * fall-back night) fires once.
 */
import { Cron } from "croner";

/** The part of a schedule that decides when it fires. */
export interface Timing {
  cron: string;
  timezone: string;
}

/** True when `tz` is an IANA time zone name this runtime knows. */
export function isTimeZone(tz: string): boolean {
  if (!tz || tz.trim() !== tz) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `expr` is not an acceptable cron expression, or null when it is.
 * Accepted: 5 fields (minute precision) or 6 fields (seconds first), and the
 * croner nicknames (`@hourly`, `@daily`, …).
 */
export function cronProblem(expr: string): string | null {
  const trimmed = expr.trim();
  if (!trimmed) return "must not be empty";
  const fields = trimmed.split(/\s+/);
  if (!trimmed.startsWith("@") && fields.length !== 5 && fields.length !== 6) {
    return `must have 5 fields (minute hour day month weekday) or 6 with seconds first; got ${fields.length}`;
  }
  try {
    const c = new Cron(trimmed, { paused: true, timezone: "UTC" });
    if (c.nextRun(new Date(0)) === null) return "never fires";
    return null;
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error);
  }
}

function cronOf(t: Timing): Cron {
  return new Cron(t.cron.trim(), { paused: true, timezone: t.timezone });
}

/**
 * Occurrences in `[from, to)`, epoch ms ascending, at most `limit`.
 * @example occurrencesIn({ cron: "0 9 * * *", timezone: "Europe/Moscow" }, from, from + 86_400_000)
 */
export function occurrencesIn(t: Timing, from: number, to: number, { limit = 10_000 } = {}): number[] {
  const out: number[] = [];
  if (to <= from) return out;
  const cron = cronOf(t);
  // nextRun is strictly after its argument and works in whole seconds; start
  // just before `from` so an occurrence exactly at `from` is included.
  let cursor: Date | null = new Date(from - 1);
  while (out.length < limit) {
    cursor = cron.nextRun(cursor);
    if (!cursor) break;
    const ms = cursor.getTime();
    if (ms >= to) break;
    if (ms >= from) out.push(ms);
  }
  return out;
}

/** How many occurrences fall in `[from, to)`, counting at most `cap`; `capped` tells if the count stopped there. */
export function countIn(t: Timing, from: number, to: number, { cap = 10_000 } = {}): {
  count: number;
  first?: number;
  last?: number;
  capped: boolean;
} {
  const list = occurrencesIn(t, from, to, { limit: cap + 1 });
  const capped = list.length > cap;
  const kept = capped ? list.slice(0, cap) : list;
  return {
    count: kept.length,
    first: kept[0],
    last: capped ? previousOccurrence(t, to) ?? kept.at(-1) : kept.at(-1),
    capped,
  };
}

/** The first occurrence strictly after `after` (epoch ms), or null. */
export function nextOccurrence(t: Timing, after: number): number | null {
  return cronOf(t).nextRun(new Date(after))?.getTime() ?? null;
}

/** The last occurrence strictly before `before`, or null (looks back about four years). */
export function previousOccurrence(t: Timing, before: number): number | null {
  // croner only walks forwards; search backwards in widening windows.
  for (let span = 60_000; span < 4 * 366 * 86_400_000; span *= 4) {
    const list = occurrencesIn(t, before - span, before, { limit: 100_000 });
    if (list.length) return list[list.length - 1];
  }
  return null;
}

/** True when `at` is an occurrence of the timing (used to drop fires planned under an older cron). */
export function isOccurrence(t: Timing, at: number): boolean {
  return nextOccurrence(t, at - 1) === at;
}

/** The start of the minute that contains `ms`. */
export function floorMinute(ms: number): number {
  return Math.floor(ms / 60_000) * 60_000;
}

/** `ms` as local wall time in `tz`, with the zone: "2025-03-30 03:30:00 Europe/Berlin (GMT+2)". */
export function formatInZone(ms: number, tz: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "shortOffset",
  }).formatToParts(new Date(ms));
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? "";
  return `${p("year")}-${p("month")}-${p("day")} ${p("hour")}:${p("minute")}:${p("second")} ${tz} (${
    p("timeZoneName")
  })`;
}
