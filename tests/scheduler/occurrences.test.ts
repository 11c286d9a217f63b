import assert from "node:assert/strict";
import {
  countIn,
  cronProblem,
  formatInZone,
  isOccurrence,
  isTimeZone,
  nextOccurrence,
  occurrencesIn,
  previousOccurrence,
} from "../../lib/scheduler/occurrences.ts";

const iso = (list: number[]) => list.map((ms) => new Date(ms).toISOString());
const at = (s: string) => Date.parse(s);
const DAY = 86_400_000;

Deno.test("occurrencesIn() places 09:00 at the right instant in Moscow, Vladivostok and UTC", () => {
  const from = at("2025-06-01T00:00:00Z") - DAY;
  const to = from + 2 * DAY;
  assert.deepEqual(iso(occurrencesIn({ cron: "0 9 * * *", timezone: "Europe/Moscow" }, from, to)), [
    "2025-05-31T06:00:00.000Z",
    "2025-06-01T06:00:00.000Z",
  ]);
  assert.deepEqual(iso(occurrencesIn({ cron: "0 9 * * *", timezone: "Asia/Vladivostok" }, from, to)), [
    "2025-05-31T23:00:00.000Z", // 09:00 on June 1st, UTC+10
    "2025-06-01T23:00:00.000Z",
  ]);
  assert.deepEqual(iso(occurrencesIn({ cron: "0 9 * * *", timezone: "UTC" }, from, to)), [
    "2025-05-31T09:00:00.000Z",
    "2025-06-01T09:00:00.000Z",
  ]);
});

Deno.test("occurrencesIn() follows the Berlin spring-forward gap: 02:30 that does not exist fires at 03:30 CEST", () => {
  const t = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
  assert.deepEqual(iso(occurrencesIn(t, at("2025-03-29T00:00:00Z"), at("2025-04-01T00:00:00Z"))), [
    "2025-03-29T01:30:00.000Z", // 02:30 CET (+1)
    "2025-03-30T01:30:00.000Z", // 02:30 does not exist: 03:30 CEST (+2)
    "2025-03-31T00:30:00.000Z", // 02:30 CEST (+2)
  ]);
  // An hourly schedule loses the hour that does not exist.
  const hourly = occurrencesIn(
    { cron: "0 * * * *", timezone: "Europe/Berlin" },
    at("2025-03-30T00:00:00Z"),
    at("2025-03-30T03:00:00Z"),
  );
  assert.deepEqual(iso(hourly), ["2025-03-30T00:00:00.000Z", "2025-03-30T01:00:00.000Z", "2025-03-30T02:00:00.000Z"]);
  assert.equal(formatInZone(hourly[1], "Europe/Berlin"), "2025-03-30 03:00:00 Europe/Berlin (GMT+2)");
});

Deno.test("occurrencesIn() fires a repeated fall-back wall time once in Berlin", () => {
  const t = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
  assert.deepEqual(iso(occurrencesIn(t, at("2025-10-25T00:00:00Z"), at("2025-10-28T00:00:00Z"))), [
    "2025-10-25T00:30:00.000Z", // 02:30 CEST
    "2025-10-26T01:30:00.000Z", // 02:30 happens twice; fires once (CET)
    "2025-10-27T01:30:00.000Z",
  ]);
});

Deno.test("occurrencesIn() handles a seconds field: every 15 s within one minute, window half-open", () => {
  const from = at("2025-06-02T09:00:00Z");
  const list = occurrencesIn({ cron: "*/15 * * * * *", timezone: "UTC" }, from, from + 60_000);
  assert.deepEqual(iso(list), [
    "2025-06-02T09:00:00.000Z",
    "2025-06-02T09:00:15.000Z",
    "2025-06-02T09:00:30.000Z",
    "2025-06-02T09:00:45.000Z",
  ]);
  assert.equal(occurrencesIn({ cron: "* * * * * *", timezone: "UTC" }, from, from + 60_000).length, 60);
});

Deno.test("occurrencesIn() includes an occurrence exactly at the window start even with a millisecond offset", () => {
  const from = at("2025-06-02T09:00:00Z");
  assert.deepEqual(iso(occurrencesIn({ cron: "* * * * *", timezone: "UTC" }, from, from + 1)), [
    "2025-06-02T09:00:00.000Z",
  ]);
  assert.deepEqual(occurrencesIn({ cron: "* * * * *", timezone: "UTC" }, from + 1, from + 60_000), []);
});

Deno.test("countIn(), nextOccurrence(), previousOccurrence() and isOccurrence() agree", () => {
  const t = { cron: "*/5 * * * *", timezone: "Asia/Vladivostok" };
  const from = at("2025-06-02T09:00:00Z");
  const c = countIn(t, from, from + 3_600_000);
  assert.deepEqual({ count: c.count, capped: c.capped }, { count: 12, capped: false });
  assert.equal(new Date(c.last!).toISOString(), "2025-06-02T09:55:00.000Z");
  assert.equal(nextOccurrence(t, from), from + 300_000);
  assert.equal(previousOccurrence(t, from), from - 300_000);
  assert.equal(isOccurrence(t, from), true);
  assert.equal(isOccurrence(t, from + 60_000), false);
  const capped = countIn({ cron: "* * * * * *", timezone: "UTC" }, from, from + 3_600_000, { cap: 100 });
  assert.equal(capped.capped, true);
  assert.equal(new Date(capped.last!).toISOString(), "2025-06-02T09:59:59.000Z");
});

Deno.test("cronProblem() accepts 5 and 6 fields and explains what is wrong", () => {
  assert.equal(cronProblem("*/5 * * * *"), null);
  assert.equal(cronProblem("*/10 * * * * *"), null);
  assert.equal(cronProblem("@hourly"), null);
  assert.equal(
    cronProblem("* * * *"),
    "must have 5 fields (minute hour day month weekday) or 6 with seconds first; got 4",
  );
  assert.equal(cronProblem("61 * * * *"), "Invalid value for minute: 61");
  assert.equal(cronProblem(""), "must not be empty");
});

Deno.test("isTimeZone() knows IANA names only", () => {
  assert.equal(isTimeZone("Europe/Moscow"), true);
  assert.equal(isTimeZone("Asia/Vladivostok"), true);
  assert.equal(isTimeZone("UTC"), true);
  assert.equal(isTimeZone("Mars/Olympus_Mons"), false);
  assert.equal(isTimeZone(""), false);
});
