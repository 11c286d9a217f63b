import assert from "node:assert/strict";
import { onecRequestSchema, sampleRequest } from "../../lib/onec/request_schema.ts";

const task = sampleRequest.tasks[1];
const issues = (body: unknown) =>
  (onecRequestSchema.safeParse(body).error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);

Deno.test("the sample request passes the schema", () => {
  assert.deepEqual(issues(sampleRequest), []);
});

Deno.test("control characters in ids, titles, calculations and names are rejected naming the field", () => {
  const found = issues({
    tasks: [{
      ...task,
      id: "ЗП-1\u0000",
      title: "Покрасить\u0007раму",
      calculation: "Участок\nпокраски",
      author: { name: "Иванова\u001bМария" },
      observers: [{ name: "Кузнецов\u0085Андрей" }],
      files: [{ name: "a\tb.pdf", content: "JVBERi0xLjQK" }],
    }],
  });
  assert.deepEqual(found, [
    "tasks.0.id: must not contain control characters (U+0000 at position 5)",
    "tasks.0.calculation: must not contain control characters (U+000A at position 8)",
    "tasks.0.title: must not contain control characters (U+0007 at position 10)",
    "tasks.0.author.name: must not contain control characters (U+001B at position 8)",
    "tasks.0.observers.0.name: must not contain control characters (U+0085 at position 9)",
    "tasks.0.files.0.name: must not contain control characters (U+0009 at position 2)",
  ]);
});

Deno.test("the description keeps line breaks and tabs but rejects NUL and other control characters", () => {
  assert.deepEqual(issues({ tasks: [{ ...task, description: "Строка 1\r\nСтрока 2\tконец" }] }), []);
  assert.deepEqual(issues({ tasks: [{ ...task, description: "до\u0000после" }] }), [
    "tasks.0.description: must not contain control characters (U+0000 at position 3)",
  ]);
  assert.deepEqual(issues({ tasks: [{ ...task, description: "\u000b" }] }), [
    "tasks.0.description: must not contain control characters (U+000B at position 1)",
  ]);
});

Deno.test("an unpaired surrogate is rejected; surrounding whitespace is still trimmed", () => {
  assert.deepEqual(issues({ tasks: [{ ...task, title: "Рама \ud800" }] }), [
    "tasks.0.title: must not contain control characters (U+D800 at position 6)",
  ]);
  const ok = onecRequestSchema.parse({
    tasks: [{ ...task, id: " 42\n", title: "\tРама РМ-12\r\n", calculation: " Участок покраски " }],
  });
  assert.equal(ok.tasks[0].id, "42");
  assert.equal(ok.tasks[0].title, "Рама РМ-12");
});
