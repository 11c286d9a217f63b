/**
 * A cron expression in words, in the panel's language: "по будням в 09:00",
 * "каждые 15 минут", "1-го и 15-го числа в 03:30". Covers the shapes people
 * write (steps, lists, ranges, weekdays, nicknames); anything else answers
 * null and the page shows the expression itself. Pure: no clock, no I/O.
 *
 * @example describeCron("0 9 * * 1-5", "ru") // "по будням в 09:00"
 */
import { type Locale, translator } from "../i18n/mod.ts";

const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A field's explicit values (`1,15`, `1-5`), or null for `*` and shapes handled elsewhere. */
function values(field: string, max: number): number[] | null {
  if (field === "*" || field === "?") return null;
  const out: number[] = [];
  for (const part of field.split(",")) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (a > b || b > max) return null;
      for (let i = a; i <= b; i++) out.push(i);
    } else if (/^\d+$/.test(part) && Number(part) <= max) out.push(Number(part));
    else return null;
  }
  return out;
}

const step = (field: string) => /^(?:\*|0)\/(\d+)$/.exec(field)?.[1];
const pad = (n: number) => String(n).padStart(2, "0");

/** The words for `expr` in `locale`, or null when the shape is not one the describer knows. */
export function describeCron(expr: string, locale: Locale): string | null {
  const { t } = translator(locale);
  let fields = (NICKNAMES[expr.trim().toLowerCase()] ?? expr.trim()).split(/\s+/);
  let seconds: string | null = null;
  if (fields.length === 6) {
    seconds = fields[0];
    fields = fields.slice(1);
  }
  if (fields.length !== 5) return null;
  const [min, hour, dom, month, dowRaw] = fields;
  const dow = dowRaw.replace(/\b7\b/g, "0");
  const list = (items: string[]) =>
    items.length === 1 ? items[0] : t("scheduler.cron.and", { a: items.slice(0, -1).join(", "), b: items.at(-1)! });

  // The time of day.
  let time: string | null = null;
  let everyDayImplied = false; // "каждую минуту" needs no "каждый день"
  const minutes = values(min, 59);
  const hours = values(hour, 23);
  if (seconds !== null && seconds !== "0") {
    const s = step(seconds);
    if (!s || min !== "*" || hour !== "*") return null;
    time = t("scheduler.cron.everySeconds", { n: Number(s) });
    everyDayImplied = true;
  } else if (min === "*" && hour === "*") {
    time = t("scheduler.cron.everyMinute");
    everyDayImplied = true;
  } else if (step(min) && hour === "*") {
    time = t("scheduler.cron.everyMinutes", { n: Number(step(min)) });
    everyDayImplied = true;
  } else if (step(min) && hours && isRange(hour)) {
    time = t("scheduler.cron.minutesBetween", {
      every: t("scheduler.cron.everyMinutes", { n: Number(step(min)) }),
      from: `${hours[0]}:00`,
      to: `${hours.at(-1)}:59`,
    });
  } else if (minutes?.length === 1 && hour === "*") {
    time = t("scheduler.cron.everyHourAt", { minute: pad(minutes[0]) });
    everyDayImplied = true;
  } else if (minutes?.length === 1 && step(hour)) {
    time = t("scheduler.cron.everyHours", { n: Number(step(hour)), minute: pad(minutes[0]) });
    everyDayImplied = true;
  } else if (minutes?.length === 1 && hours && isRange(hour) && hours.length > 2) {
    const m = pad(minutes[0]);
    time = t("scheduler.cron.hourlyBetween", { from: `${hours[0]}:${m}`, to: `${hours.at(-1)}:${m}` });
  } else if (minutes && hours && minutes.length * hours.length <= 6) {
    const times = hours.flatMap((h) => minutes.map((m) => `${pad(h)}:${pad(m)}`));
    time = t("scheduler.cron.at", { times: list(times) });
  } else return null;

  // The days.
  const parts: string[] = [];
  const days = values(dom, 31);
  if (dom === "L") parts.push(t("scheduler.cron.lastDay"));
  else if (days) {
    parts.push(t("scheduler.cron.monthDay", { days: list(days.map((d) => t("scheduler.cron.ordinal", { d }))) }));
  } else if (dom !== "*" && dom !== "?") return null;
  const months = values(month, 12);
  if (months) parts.push(list(months.map((m) => t("scheduler.cron.inMonth", { month: m }))));
  else if (month !== "*") return null;
  const weekdays = values(dow, 6)?.sort((a, b) => a - b) ?? null;
  if (weekdays) {
    const key = weekdays.join(",");
    if (key === "1,2,3,4,5") parts.push(t("scheduler.cron.weekdays"));
    else if (key === "0,6") parts.push(t("scheduler.cron.weekends"));
    else if (isRange(dow) && weekdays.length > 2) {
      parts.push(t("scheduler.cron.dayRange", { from: weekdays[0], to: weekdays.at(-1)! }));
    } else if (weekdays.length === 1) parts.push(t("scheduler.cron.onDay", { day: weekdays[0] }));
    else {
      const names = weekdays.map((d) => t("scheduler.cron.dayName", { day: d }));
      parts.push(t("scheduler.cron.onDays", { days: list(names) }));
    }
  } else if (dow !== "*" && dow !== "?") return null;
  if (parts.length === 0 && !everyDayImplied) parts.push(t("scheduler.cron.everyDay"));
  return [...parts, time].join(" ");
}

const isRange = (field: string) => /^\d+-\d+$/.test(field);
