import assert from "node:assert/strict";
import { editDistance, matchDepartment, normalizeName } from "../../lib/onec/matching.ts";

const deps = [
  { id: 3, name: "Сварочный участок" },
  { id: 4, name: "Участок покраски" },
  { id: 5, name: "Механообработка" },
  { id: 6, name: "Сборка металлоконструкций" },
  { id: 9, name: "Цех «Ёмкости»" },
];

Deno.test("normalizeName() folds case, ё, quotes, dashes and extra spaces", () => {
  assert.equal(normalizeName("  Цех  «Ёмкости» — ЁЛКИ  "), "цех емкости - елки");
  assert.equal(normalizeName('"Сварочный  участок"'), "сварочный участок");
});

Deno.test("normalizeName() turns Latin look-alike letters in Cyrillic words into Cyrillic", () => {
  // "Cварочный" typed with a Latin C, "участoк" with a Latin o.
  assert.equal(normalizeName("Cварочный участoк"), "сварочный участок");
  assert.equal(normalizeName("CNC Механообработка"), "cnc механообработка");
});

Deno.test("matchDepartment() prefers an exact match after normalization", () => {
  const r = matchDepartment("цех ЕМКОСТИ", deps);
  assert.deepEqual(r, { kind: "match", department: deps[4], rule: "exact" });
});

Deno.test("matchDepartment() finds a department named inside a longer calculation", () => {
  const r = matchDepartment("Калькуляция №45: Сварочный участок, рама РМ-12", deps);
  assert.deepEqual(r, { kind: "match", department: deps[0], rule: "contains" });
});

Deno.test("matchDepartment() does not match a name inside another word", () => {
  assert.deepEqual(matchDepartment("Пересварочный участок", deps.slice(0, 1)), { kind: "none" });
});

Deno.test("matchDepartment() tolerates a typo in a long name", () => {
  const r = matchDepartment("Сворочный учасок", deps);
  assert.deepEqual(r, { kind: "match", department: deps[0], rule: "typo" });
});

Deno.test("matchDepartment() reports two equally good departments as ambiguous", () => {
  const twins = [{ id: 1, name: "Участок 1" }, { id: 2, name: "Участок 2" }];
  assert.equal(matchDepartment("Участок 3", twins).kind, "ambiguous");
});

Deno.test("matchDepartment() with fuzzy off only accepts exact names", () => {
  assert.equal(matchDepartment("Калькуляция: Сварочный участок", deps, { fuzzy: false }).kind, "none");
});

Deno.test("matchDepartment() answers none for an unknown calculation", () => {
  assert.deepEqual(matchDepartment("Гальваника", deps), { kind: "none" });
});

Deno.test("editDistance() counts an adjacent swap as one edit", () => {
  assert.equal(editDistance("сварка", "свакра"), 1);
  assert.equal(editDistance("abc", "xyz", 1), 2);
});
