/**
 * Working days and availability from what Bitrix24 exposes (reference §1.10):
 * the portal work calendar (`calendar.settings.get`: weekly days off, yearly
 * holidays and working weekends), per-user time tracking (`timeman.settings`:
 * the earliest finish time of a fixed schedule) and absences. Bitrix24 has
 * no REST call for per-user work days, so the portal calendar decides the day
 * and time tracking decides when a person's day ends.
 */

export interface PortalCalendar {
  /** Two-letter day codes off every week: "SA", "SU". */
  weekHolidays: string[];
  /** "d.mm" dates off every year. */
  yearHolidays: string[];
  /** "d.mm" dates worked although they fall on a weekly day off. */
  yearWorkdays: string[];
  /** Hour the portal's work day ends (calendar.settings.get `work_time_end`). */
  workEndHour: number;
}

export interface Presence {
  /** Last day (YYYY-MM-DD) of the absence now running (im.user.list.get `absent`). */
  absentUntil?: string;
  /** Days (YYYY-MM-DD) covered by calendar events marked `absent`. */
  absentDays: string[];
  /** Time tracking: end of a fixed day "HH:MM:SS"; absent for free schedules or no tracking. */
  dayEnds?: string;
}

const DAY_CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

/** Local date (YYYY-MM-DD) and minutes since midnight of `ms` in `timeZone`. */
export function localTime(ms: number, timeZone: string): { date: string; minutes: number } {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "00";
  return {
    date: `${get("year")}-${get("month")}-${get("day")}`,
    minutes: Number(get("hour")) * 60 + Number(get("minute")),
  };
}

/** The date `days` after `date` (YYYY-MM-DD). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** True when the portal calendar has `date` as a working day. */
export function isWorkday(date: string, cal: PortalCalendar): boolean {
  const d = new Date(`${date}T12:00:00Z`);
  const dm = `${d.getUTCDate()}.${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  const alt = `${d.getUTCDate()}.${d.getUTCMonth() + 1}`;
  const has = (list: string[]) => list.includes(dm) || list.includes(alt);
  if (has(cal.yearWorkdays)) return true;
  if (has(cal.yearHolidays)) return false;
  return !cal.weekHolidays.includes(DAY_CODES[d.getUTCDay()]);
}

/** The first working day after `date` (looks two weeks ahead; New Year holidays are shorter than that). */
export function nextWorkday(date: string, cal: PortalCalendar): string {
  for (let i = 1; i <= 14; i++) {
    const d = addDays(date, i);
    if (isWorkday(d, cal)) return d;
  }
  return addDays(date, 1);
}

/** True when the person is away on `date`. */
export function isAbsent(p: Presence | undefined, date: string): boolean {
  if (!p) return false;
  if (p.absentUntil && date <= p.absentUntil) return true;
  return p.absentDays.includes(date);
}

export type Availability = "today" | "next" | "absent";

/**
 * When a person can take a task that arrives at `now`: "today" on a working
 * day before their day ends and not absent; otherwise "next" if they are not
 * absent on the next working day; else "absent".
 */
export function availability(
  p: Presence | undefined,
  cal: PortalCalendar,
  { now, timeZone }: { now: number; timeZone: string },
): { when: Availability; day: string; why: string } {
  const { date, minutes } = localTime(now, timeZone);
  const endMinutes = p?.dayEnds ? hhmm(p.dayEnds) : cal.workEndHour * 60;
  if (isWorkday(date, cal) && minutes < endMinutes && !isAbsent(p, date)) {
    return { when: "today", day: date, why: "работает сегодня" };
  }
  const next = nextWorkday(date, cal);
  if (!isAbsent(p, next)) {
    const why = isAbsent(p, date)
      ? "отсутствует сегодня, выйдет " + next
      : !isWorkday(date, cal)
      ? "сегодня нерабочий день"
      : "рабочий день закончился";
    return { when: "next", day: next, why };
  }
  return { when: "absent", day: date, why: p?.absentUntil ? `отсутствует до ${p.absentUntil}` : "отсутствует" };
}

function hhmm(s: string): number {
  const [h, m] = s.split(":").map(Number);
  return (h || 0) * 60 + (m || 0);
}
