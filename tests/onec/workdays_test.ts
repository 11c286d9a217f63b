import assert from "node:assert/strict";
import { availability, isWorkday, nextWorkday, type PortalCalendar } from "../../lib/onec/workdays.ts";

const cal: PortalCalendar = {
  weekHolidays: ["SA", "SU"],
  yearHolidays: ["1.01", "8.03", "9.05"],
  yearWorkdays: ["1.11"],
  workEndHour: 18,
};
const at = (iso: string) => ({ now: Date.parse(iso), timeZone: "Europe/Moscow" });

Deno.test("isWorkday() follows weekly days off, holidays and working weekends", () => {
  assert.equal(isWorkday("2025-03-12", cal), true); // Wednesday
  assert.equal(isWorkday("2025-03-15", cal), false); // Saturday
  assert.equal(isWorkday("2025-03-08", cal), false); // holiday
  assert.equal(isWorkday("2025-11-01", cal), true); // Saturday worked
  assert.equal(nextWorkday("2025-03-07", cal), "2025-03-10");
});

Deno.test("availability() puts a person on time tracking off after their day ends", () => {
  const p = { absentDays: [], dayEnds: "16:00:00" };
  assert.equal(availability(p, cal, at("2025-03-12T15:00:00+03:00")).when, "today");
  assert.equal(availability(p, cal, at("2025-03-12T16:30:00+03:00")).when, "next");
  assert.equal(availability({ absentDays: [] }, cal, at("2025-03-12T16:30:00+03:00")).when, "today");
});

Deno.test("availability() treats a weekend as the next working day and sees absences there", () => {
  const sat = at("2025-03-15T11:00:00+03:00");
  assert.deepEqual(availability({ absentDays: [] }, cal, sat), {
    when: "next",
    day: "2025-03-17",
    why: "сегодня нерабочий день",
  });
  assert.equal(availability({ absentDays: ["2025-03-17"] }, cal, sat).when, "absent");
  assert.equal(availability({ absentDays: [], absentUntil: "2025-03-16" }, cal, sat).when, "next");
});
