import assert from "node:assert/strict";
import { describeCron } from "../../lib/scheduler/cron_words.ts";

Deno.test("describeCron() says common schedules in Russian words", () => {
  const cases: Array<[string, string]> = [
    ["0 9 * * 1-5", "по будням в 09:00"],
    ["*/15 * * * *", "каждые 15 минут"],
    ["*/5 * * * *", "каждые 5 минут"],
    ["*/2 * * * *", "каждые 2 минуты"],
    ["* * * * *", "каждую минуту"],
    ["30 3 1,15 * *", "1-го и 15-го числа в 03:30"],
    ["0 0 * * 0", "по воскресеньям в 00:00"],
    ["0 10 * * 6,0", "по выходным в 10:00"],
    ["0 8 * * 1,3", "по понедельникам и средам в 08:00"],
    ["0 9,18 * * *", "каждый день в 09:00 и 18:00"],
    ["5 * * * *", "каждый час в 05 мин."],
    ["0 */3 * * *", "каждые 3 часа в 00 мин."],
    ["0 9-18 * * 1-5", "по будням каждый час с 9:00 до 18:00"],
    ["0 12 1 1 *", "1-го числа в январе в 12:00"],
    ["@daily", "каждый день в 00:00"],
    ["@hourly", "каждый час в 00 мин."],
    ["*/10 * * * * *", "каждые 10 секунд"],
    ["0 0 9 * * 2-4", "со вторника по четверг в 09:00"],
    ["0 23 L * *", "в последний день месяца в 23:00"],
  ];
  for (const [cron, words] of cases) assert.equal(describeCron(cron, "ru"), words, cron);
});

Deno.test("describeCron() speaks English too and gives up on shapes it does not know", () => {
  assert.equal(describeCron("0 9 * * 1-5", "en"), "on weekdays at 09:00");
  assert.equal(describeCron("*/1 * * * *", "en"), "every minute");
  assert.equal(describeCron("30 3 1,15 * *", "en"), "on day 1 and 15 of the month at 03:30");
  assert.equal(describeCron("0 9 * * 1#2", "ru"), null);
  assert.equal(describeCron("1-59/7 * * * *", "ru"), null);
  assert.equal(describeCron("not a cron", "ru"), null);
});
