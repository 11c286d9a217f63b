import assert from "node:assert/strict";
import { LOCALES, negotiateLocale, translator } from "../../lib/i18n/mod.ts";
import { type MessageKey, MESSAGES } from "../../lib/i18n/messages/mod.ts";

Deno.test("both languages have the same message keys and every message compiles", () => {
  const ru = Object.keys(MESSAGES.ru).sort();
  const en = Object.keys(MESSAGES.en).sort();
  assert.ok(ru.length > 10, "the catalogue is not empty");
  assert.deepEqual(en, ru);
  for (const locale of LOCALES) {
    for (const key of ru) {
      translator(locale).t(key as MessageKey, {
        count: 2,
        name: "x",
        ms: 1,
        id: "x",
        when: "x",
        label: "x",
        n: 1,
        retried: 1,
        failed: 0,
        message: "x",
      });
    }
  }
});

Deno.test("Russian plurals follow Russian rules", () => {
  const { t } = translator("ru");
  assert.equal(t("common.runs", { count: 1 }), "1 запуск");
  assert.equal(t("common.runs", { count: 3 }), "3 запуска");
  assert.equal(t("common.runs", { count: 5 }), "5 запусков");
  assert.equal(t("common.runs", { count: 21 }), "21 запуск");
  assert.equal(translator("en").t("common.runs", { count: 1 }), "1 run");
});

Deno.test("the language is the user's choice, then Accept-Language by quality, then Russian", () => {
  assert.equal(negotiateLocale("en", "ru-RU"), "en");
  assert.equal(negotiateLocale(undefined, "de-DE,en;q=0.8,ru;q=0.5"), "en");
  assert.equal(negotiateLocale(undefined, "en;q=0.2,ru;q=0.9"), "ru");
  assert.equal(negotiateLocale(undefined, "de, fr"), "ru");
  assert.equal(negotiateLocale("xx", undefined), "ru");
});

Deno.test("dates come out in one format in the requested zone", () => {
  const at = Date.UTC(2026, 11, 2, 7, 5);
  assert.equal(translator("ru").dateTime(at, "Europe/Moscow"), "02.12.2026, 10:05");
  assert.equal(translator("ru").number(12345), "12\u00a0345");
});
