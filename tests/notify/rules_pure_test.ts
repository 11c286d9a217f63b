import assert from "node:assert/strict";
import { z } from "zod";
import { compileConditions, conditionProblems, fieldsOf, regexProblem } from "../../lib/notify/conditions.ts";
import { escapeHtml, htmlToPlain, placeholdersOf, renderTemplate } from "../../lib/notify/template.ts";
import { splitMessage } from "../../lib/notify/split.ts";
import { notifyEvents } from "../../lib/notify/events.ts";
import { PRESETS, ruleInputSchema, ruleProblems } from "../../lib/notify/rules.ts";

const mail = notifyEvents["mail.received"].schema;
const data = { subject: "Счёт №42 просрочен", from: "buh@example.ru", text: "Оплатите", nested: { code: 7 } };

Deno.test("compileConditions() matches contains case-insensitively in Cyrillic", () => {
  assert.deepEqual(compileConditions([{ field: "subject", op: "contains", value: "СЧЁТ" }], "all")(data), true);
  assert.deepEqual(compileConditions([{ field: "subject", op: "contains", value: "акт" }], "all")(data), false);
});

Deno.test("compileConditions() equals compares the whole value, numbers as text", () => {
  assert.deepEqual(compileConditions([{ field: "from", op: "equals", value: "buh@example.ru" }], "all")(data), true);
  assert.deepEqual(compileConditions([{ field: "from", op: "equals", value: "buh@example" }], "all")(data), false);
  assert.deepEqual(compileConditions([{ field: "nested.code", op: "equals", value: "7" }], "all")(data), true);
});

Deno.test("compileConditions() regex, all and any", () => {
  const a = { field: "subject", op: "regex" as const, value: "№\\d+" };
  const b = { field: "from", op: "equals" as const, value: "nobody" };
  assert.deepEqual(compileConditions([a, b], "all")(data), false);
  assert.deepEqual(compileConditions([a, b], "any")(data), true);
  assert.deepEqual(compileConditions([], "all")(data), true);
});

Deno.test("conditionProblems() names a field the event's schema does not have", () => {
  assert.deepEqual(conditionProblems([{ field: "subject", op: "contains", value: "x" }], mail), []);
  assert.deepEqual(conditionProblems([{ field: "subjekt", op: "contains", value: "x" }], mail), [
    "conditions.0.field: the event has no field subjekt",
  ]);
});

Deno.test("regexProblem() refuses long, invalid and exponential patterns", () => {
  assert.deepEqual(regexProblem("^ok$"), null);
  assert.ok(regexProblem("a".repeat(201))!.includes("at most 200"));
  assert.ok(regexProblem("(unclosed")!.includes("not a valid regular expression"));
  assert.ok(regexProblem("(a+)+$")!.includes("nested repetition"));
  assert.ok(regexProblem("(x|x)*")!.includes("nested repetition"));
});

Deno.test("fieldsOf() lists the dotted fields of an event schema", () => {
  assert.deepEqual(fieldsOf(z.object({ a: z.string(), b: z.object({ c: z.number().optional() }) })), ["a", "b.c"]);
});

Deno.test("renderTemplate() escapes event values but keeps the template's tags", () => {
  assert.deepEqual(renderTemplate("<b>{{subject}}</b>", { subject: "<script>&" }), "<b>&lt;script&gt;&amp;</b>");
  assert.deepEqual(renderTemplate("{{ nested.code }}/{{missing}}", data), "7/");
  assert.deepEqual(renderTemplate("{{subject}}", { subject: "a<b" }, { escape: false }), "a<b");
  assert.deepEqual(placeholdersOf("{{a}} {{ b.c }} {{a}}"), ["a", "b.c"]);
  assert.deepEqual(htmlToPlain(`<b>${escapeHtml('1 < 2 & "x"')}</b>`), '1 < 2 & "x"');
});

Deno.test("splitMessage() keeps every part within 4096 and loses nothing", () => {
  const line = "строка уведомления ".repeat(10) + "\n";
  const text = line.repeat(60);
  const parts = splitMessage(text);
  assert.deepEqual(parts.length > 1, true);
  for (const p of parts) assert.deepEqual(p.length <= 4096, true);
  assert.deepEqual(parts.join("\n").replaceAll("\n", ""), text.replaceAll("\n", ""));
  assert.deepEqual(splitMessage("short"), ["short"]);
});

Deno.test("splitMessage() never cuts inside an entity or a surrogate pair", () => {
  const text = "x".repeat(4094) + "&amp;" + "y";
  assert.deepEqual(splitMessage(text)[0], "x".repeat(4094));
  const emoji = "x".repeat(4095) + "😀";
  assert.deepEqual(splitMessage(emoji), ["x".repeat(4095), "😀"]);
});

Deno.test("every preset rule passes the save-time check: its event type, fields and placeholders exist", () => {
  for (const p of PRESETS) {
    const rule = ruleInputSchema.parse({ ...p.rule, enabled: false });
    assert.deepEqual(ruleProblems(rule, { chatExists: () => true, botExists: () => true }), [], p.key);
  }
});
