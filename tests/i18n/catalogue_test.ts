import assert from "node:assert/strict";
import { LOCALES, negotiateLocale, translator } from "../../lib/i18n/mod.ts";
import { type MessageKey, MESSAGES } from "../../lib/i18n/messages/mod.ts";

/** The argument names of an ICU message (`{name}`, `{count, plural, …}`). */
const argsOf = (text: string) =>
  [...new Set([...text.matchAll(/\{\s*([A-Za-z_]\w*)\s*[,}]/g)].map((m) => m[1]))].sort();

Deno.test("both languages have the same message keys and every message compiles", () => {
  const ru = Object.keys(MESSAGES.ru).sort();
  const en = Object.keys(MESSAGES.en).sort();
  assert.ok(ru.length > 10, "the catalogue is not empty");
  assert.deepEqual(en, ru);
  for (const locale of LOCALES) {
    for (const key of ru) {
      const args = Object.fromEntries(argsOf(MESSAGES[locale][key as MessageKey]).map((a) => [a, 2]));
      assert.ok(translator(locale).t(key as MessageKey, args).length > 0, key);
    }
  }
});

Deno.test("Russian plurals follow Russian rules", () => {
  const { t } = translator("ru");
  assert.equal(t("dead.count", { count: 1 }), "1 сообщение");
  assert.equal(t("dead.count", { count: 3 }), "3 сообщения");
  assert.equal(t("dead.count", { count: 5 }), "5 сообщений");
  assert.equal(t("dead.count", { count: 21 }), "21 сообщение");
  assert.equal(t("dead.count", { count: 12 }), "12 сообщений");
  assert.equal(translator("en").t("dead.count", { count: 1 }), "1 message");
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

/** Every source file that may use a message key (the catalogue files themselves excluded). */
async function sources(): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  const root = new URL("../../", import.meta.url);
  async function walk(dir: string) {
    for await (const e of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${e.name}`;
      if (e.isDirectory) await walk(`${path}/`);
      else if (/\.(ts|tsx)$/.test(e.name) && !path.startsWith("lib/i18n/messages/")) {
        out.push({ path, text: await Deno.readTextFile(new URL(path, root)) });
      }
    }
  }
  for (const dir of ["routes/", "islands/", "lib/", "jobs/"]) await walk(dir);
  return out;
}

Deno.test("every message key the code asks for exists, and every key in the catalogue is used", async () => {
  const files = await sources();
  const keys = new Set(Object.keys(MESSAGES.ru));
  const missing: string[] = [];
  for (const { path, text } of files) {
    for (const m of text.matchAll(/\bt\(\s*"([^"]+)"/g)) if (!keys.has(m[1])) missing.push(`${path}: ${m[1]}`);
  }
  assert.deepEqual(missing, [], "keys used in code but missing in the catalogue");
  const all = files.map((f) => f.text).join("\n");
  const unused = [...keys].filter((k) => !all.includes(`"${k}"`));
  assert.deepEqual(unused, [], "keys in the catalogue that no code uses (remove them or use them)");
});

Deno.test("each message takes the same arguments in Russian and in English", () => {
  const differ = Object.keys(MESSAGES.ru).filter((k) =>
    JSON.stringify(argsOf(MESSAGES.ru[k as MessageKey])) !== JSON.stringify(argsOf(MESSAGES.en[k as MessageKey]))
  );
  assert.deepEqual(differ, []);
});
