import assert from "node:assert/strict";
import { UPDATE_FAILED_MESSAGE } from "../../lib/onec/intake.ts";
import { onecRequestSchema, sampleRequest } from "../../lib/onec/request_schema.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { createOrg } from "../../lib/accounts/store.ts";
import { NOT_CONFIGURED_MESSAGE } from "../../lib/onec/service.ts";
import { MAX_BUDGET_MS, SETTINGS_SECTION } from "../../lib/onec/settings.ts";
import { LOCK_TTL } from "../../lib/onec/store.ts";
import { request, setup } from "../helpers/onec.ts";

const welding = (h: Awaited<ReturnType<typeof setup>>) => h.fake.state.tasks.filter((t) => t.groupId === 31);

Deno.test("intake creates the task for the least-busy welder, in the project, with files and observers", async () => {
  const h = await setup();
  try {
    const res = await h.svc.intake(h.org, onecRequestSchema.parse(sampleRequest), { requestId: "req-1" });
    assert.equal(res.outcome, "ok");
    const [weld, paint] = welding(h);
    // Welders: Сёмин 4 open, Ёлкина 2, Павлов 2 (+5 completed) → tie between 4 and 5, never assigned → lower id.
    assert.equal(weld.responsibleId, 4);
    assert.equal(weld.title, "Сварить раму РМ-12 по заказу №457 (ООО «СтройМонтаж»)");
    assert.equal(weld.priority, "2");
    assert.equal(weld.deadline, "2025-03-20T18:00:00+03:00");
    assert.equal(weld.createdBy, 11); // the author, found by e-mail
    assert.deepEqual(weld.auditors, [2]);
    assert.equal(weld.files.length, 1);
    assert.match(weld.description, /Идентификатор 1С: ЗаказПокупателя-000457\/1/);
    // Painters: Смирнова 1 open, Орлов 3.
    assert.equal(paint.responsibleId, 6);
    assert.equal(paint.deadline, "2025-03-21T18:00:00+03:00");
    assert.equal(res.log.tasks[0].url, `${h.fake.url}/workgroups/group/31/tasks/task/view/${weld.id}/`);
    assert.match(res.log.tasks[0].reason!, /Сварочный участок.*наименее загружен: 2/);
    // The request's own event comes last, after its log entry is stored (the admin page refetches the log on it).
    assert.deepEqual(h.events.map((e) => e.type), ["onec.task.created", "onec.task.created", "onec.request.logged"]);
    assert.deepEqual(h.events[2].data, { id: res.log.id, requestId: res.log.requestId, outcome: "ok", tasks: 2 });
  } finally {
    await h.close();
  }
});

Deno.test("a re-sent 1C id updates its task instead of creating a second one", async () => {
  const h = await setup();
  try {
    await h.svc.intake(h.org, request("A-1", "Сварочный участок"));
    const before = h.fake.state.tasks.length;
    const again = await h.svc.intake(
      h.org,
      request("A-1", "Сварочный участок", { title: "Новое название", priority: "high" }),
    );
    assert.equal(again.outcome, "ok");
    assert.equal(h.fake.state.tasks.length, before);
    const t = h.fake.state.tasks.find((t) => t.title === "Новое название")!;
    assert.equal(t.priority, "2");
    assert.deepEqual(h.events.map((e) => e.type), [
      "onec.task.created",
      "onec.request.logged",
      "onec.task.updated",
      "onec.request.logged",
    ]);
    assert.equal(again.log.bitrixCalls, 1);
  } finally {
    await h.close();
  }
});

Deno.test("equal load goes to whoever was assigned least recently", async () => {
  const h = await setup();
  try {
    const who = async (id: string) => {
      const r = await h.svc.intake(h.org, request(id, "Сварочный участок"));
      return r.tasks[0].responsible!.id;
    };
    assert.equal(await who("T-1"), 4); // 4 and 5 both have 2 open; lower id
    assert.equal(await who("T-2"), 5); // 4 has 3 now
    assert.equal(await who("T-3"), 4); // 3 each; 4 was assigned before 5
    assert.equal(await who("T-4"), 5);
  } finally {
    await h.close();
  }
});

Deno.test("assign() skips employees absent today (absence chart and calendar)", async () => {
  const h = await setup();
  try {
    h.fake.state.absences.push(
      { userId: 4, from: "2025-03-10", to: "2025-03-14", via: "chart" },
      { userId: 5, from: "2025-03-12", to: "2025-03-12", via: "calendar" },
    );
    const r = await h.svc.intake(h.org, request("V-1", "сварочный  участок"));
    assert.equal(r.tasks[0].responsible!.id, 3); // 4 open tasks, but the only one at work
    assert.match(
      r.tasks[0].reason!,
      /не в работе: Ёлкина Ольга \(отсутствует до 2025-03-14\), Павлов Игорь \(отсутствует сегодня, выйдет 2025-03-13\)/,
    );
  } finally {
    await h.close();
  }
});

Deno.test("after working hours the task goes to whoever is in on the next working day", async () => {
  const h = await setup({ start: Date.parse("2025-03-14T20:00:00+03:00") }); // Friday evening
  try {
    h.fake.state.absences.push({ userId: 4, from: "2025-03-17", to: "2025-03-21", via: "chart" });
    h.fake.state.absences.push({ userId: 4, from: "2025-03-14", to: "2025-03-21", via: "chart" });
    const r = await h.svc.intake(h.org, request("N-1", "Сварочный участок"));
    assert.equal(r.tasks[0].responsible!.id, 5);
    assert.match(r.tasks[0].reason!, /сегодня никто не работает — рабочий день закончился/);
  } finally {
    await h.close();
  }
});

Deno.test("no matching section → the production head gets it and onec.unassigned is published", async () => {
  const h = await setup();
  try {
    const r = await h.svc.intake(h.org, request("G-1", "Гальваника"));
    assert.equal(r.outcome, "ok");
    assert.equal(r.tasks[0].responsible!.id, 2);
    assert.equal(r.tasks[0].unassigned, true);
    const ev = h.events.find((e) => e.type === "onec.unassigned")!;
    assert.equal(ev.data.why, "нет участка производства для калькуляции «Гальваника»");
  } finally {
    await h.close();
  }
});

Deno.test("a section without a head falls back to the configured user", async () => {
  const h = await setup({ settings: { fallbackUserId: 12 } });
  try {
    h.fake.state.absences.push({ userId: 12, from: "2025-03-01", to: "2025-03-31", via: "chart" });
    const r = await h.svc.intake(h.org, request("S-1", "Сборка металлоконструкций"));
    assert.equal(r.tasks[0].responsible!.id, 12);
    assert.match(
      r.tasks[0].reason!,
      /все сотрудники участка «Сборка металлоконструкций» отсутствуют; назначен ответственный по умолчанию/,
    );
  } finally {
    await h.close();
  }
});

Deno.test("concurrent duplicate requests create exactly one task", async () => {
  const h = await setup();
  try {
    const results = await Promise.all(
      Array.from({ length: 6 }, () => h.svc.intake(h.org, request("DUP-1", "Механообработка"))),
    );
    assert.ok(results.every((r) => r.outcome === "ok"));
    assert.equal(h.fake.state.tasks.filter((t) => t.title === "Задача DUP-1").length, 1);
    assert.equal(h.events.filter((e) => e.type === "onec.task.created").length, 1);
    assert.equal(h.events.filter((e) => e.type === "onec.task.updated").length, 5);
  } finally {
    await h.close();
  }
});

Deno.test("an update Bitrix refuses answers the contract message and names the task", async () => {
  const h = await setup();
  try {
    await h.svc.intake(h.org, request("U-1", "Участок покраски"));
    const taskId = h.fake.state.tasks.at(-1)!.id;
    h.fake.state.tasks = h.fake.state.tasks.filter((t) => t.id !== taskId); // deleted in Bitrix24
    const r = await h.svc.intake(h.org, request("U-1", "Участок покраски"));
    assert.equal(r.outcome, "update_failed");
    assert.equal(UPDATE_FAILED_MESSAGE, "При обновлении задачи произошла ошибка");
    const ev = h.events.find((e) => e.type === "onec.task.failed")!;
    assert.equal(ev.data.onecId, "U-1");
    assert.equal(ev.data.taskId, taskId);
    assert.equal(ev.data.error, "Bitrix24 tasks.task.update failed: 0 — wrong task id");
  } finally {
    await h.close();
  }
});

Deno.test("a lost tasks.task.add answer is reconciled: one task, no duplicate", async () => {
  const h = await setup();
  try {
    h.fake.state.faults.push({
      method: "tasks.task.add",
      times: 1,
      status: 504,
      error: "",
      description: "",
      afterCommit: true,
    });
    const r = await h.svc.intake(h.org, request("L-1", "Механообработка"));
    assert.equal(r.outcome, "ok");
    assert.equal(h.fake.state.tasks.filter((t) => t.title === "Задача L-1").length, 1);
    assert.equal(r.tasks[0].taskId, h.fake.state.tasks.at(-1)!.id);
    const again = await h.svc.intake(h.org, request("L-1", "Механообработка"));
    assert.equal(again.tasks[0].op, "updated");
  } finally {
    await h.close();
  }
});

Deno.test("a create Bitrix refuses answers 500 text with the reason and the request id", async () => {
  const h = await setup({ settings: { projectName: "Несуществующий проект" } });
  try {
    const r = await h.svc.intake(h.org, request("E-1", "Механообработка"), { requestId: "req-42" });
    assert.equal(r.outcome, "failed");
    assert.equal(
      r.failure,
      "Не удалось создать задачу «Задача E-1» (1С: E-1): Bitrix24 has no project «Несуществующий проект» visible to the webhook user — create it or change the project name in the 1C → Bitrix24 settings\nИдентификатор запроса: req-42",
    );
    assert.equal(h.events[0].type, "onec.task.failed");
  } finally {
    await h.close();
  }
});

const addCalls = (h: Awaited<ReturnType<typeof setup>>) =>
  h.fake.state.calls.filter((c) => c.method === "tasks.task.add").length;

Deno.test("a lost add answer whose task appears late: re-sends in the grace period create nothing, then adopt it", async () => {
  const h = await setup();
  try {
    // Bitrix keeps running the add after our end gave up: the task shows up 30 s later.
    h.fake.state.faults.push({
      method: "tasks.task.add",
      times: 1,
      status: 504,
      error: "",
      description: "",
      afterCommit: true,
      visibleAfterMs: 30_000,
    });
    const first = await h.svc.intake(h.org, request("LATE-1", "Механообработка"), { requestId: "req-late" });
    assert.equal(first.outcome, "failed");
    assert.match(first.failure!, /Bitrix24 did not confirm creating the task and it is not visible yet/);
    assert.match(first.failure!, /Идентификатор запроса: req-late$/);
    // 1C re-sends at once and 20 s later: still invisible, still inside the grace period → no second add.
    const again = await h.svc.intake(h.org, request("LATE-1", "Механообработка"));
    assert.equal(again.outcome, "failed");
    h.clock.jump(20_000);
    assert.equal((await h.svc.intake(h.org, request("LATE-1", "Механообработка"))).outcome, "failed");
    assert.equal(addCalls(h), 1);
    // Now it is there: the re-send adopts it and updates it.
    h.clock.jump(15_000);
    const adopted = await h.svc.intake(h.org, request("LATE-1", "Механообработка"));
    assert.equal(adopted.outcome, "ok");
    assert.equal(adopted.tasks[0].op, "updated");
    const mine = h.fake.state.tasks.filter((t) => t.title === "Задача LATE-1");
    assert.equal(mine.length, 1);
    assert.equal(adopted.tasks[0].taskId, mine[0].id);
    // Long after the grace period it stays one task.
    h.clock.jump(120_000);
    assert.equal((await h.svc.intake(h.org, request("LATE-1", "Механообработка"))).tasks[0].op, "updated");
    assert.equal(addCalls(h), 1);
  } finally {
    await h.close();
  }
});

Deno.test("a lost add answer with no task: re-sends create only after the grace period", async () => {
  const h = await setup({ settings: { reconcileGraceMs: 75_000 } });
  try {
    h.fake.state.faults.push({
      method: "tasks.task.add",
      times: 1,
      status: 504,
      error: "",
      description: "",
      afterCommit: true,
      visibleAfterMs: 30_000,
    });
    assert.equal((await h.svc.intake(h.org, request("GONE-1", "Механообработка"))).outcome, "failed");
    // Bitrix cut the request at its 60 s limit and rolled it back: the task never appears.
    h.fake.state.tasks = h.fake.state.tasks.filter((t) => t.title !== "Задача GONE-1");
    h.clock.jump(60_000);
    const waiting = await h.svc.intake(h.org, request("GONE-1", "Механообработка"));
    assert.equal(waiting.outcome, "failed");
    assert.match(waiting.failure!, /re-send: until \d+ s from now it is only looked for, never created twice/);
    assert.equal(addCalls(h), 1);
    h.clock.jump(16_000); // past the configured 75 s since the first attempt
    const created = await h.svc.intake(h.org, request("GONE-1", "Механообработка"));
    assert.equal(created.outcome, "ok");
    assert.equal(created.tasks[0].op, "created");
    assert.equal(addCalls(h), 2);
    assert.equal(h.fake.state.tasks.filter((t) => t.title === "Задача GONE-1").length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("reconcile does not adopt a task with the same title made for another 1C id", async () => {
  const h = await setup();
  try {
    h.fake.state.faults.push({
      method: "tasks.task.add",
      times: 1,
      status: 504,
      error: "",
      description: "",
      afterCommit: true,
      visibleAfterMs: 600_000,
    });
    const r = await h.svc.intake(h.org, request("TWIN-1", "Механообработка", { title: "Общее название" }));
    assert.equal(r.outcome, "failed");
    // Someone else's task: same title, project and responsible, but another 1C id in its description.
    const lost = h.fake.state.tasks.find((t) => t.title === "Общее название")!;
    h.fake.state.tasks.push({
      ...lost,
      id: 777,
      visibleFrom: undefined,
      description: lost.description.replace("Идентификатор 1С: TWIN-1", "Идентификатор 1С: TWIN-10"),
    });
    const again = await h.svc.intake(h.org, request("TWIN-1", "Механообработка", { title: "Общее название" }));
    assert.equal(again.outcome, "failed");
    assert.equal(h.fake.state.tasks.find((t) => t.id === 777)!.title, "Общее название");
    assert.equal(addCalls(h), 1);
  } finally {
    await h.close();
  }
});

Deno.test("BITRIX_WEBHOOK applies only to the first organization; another one must set its own", async () => {
  const h = await setup();
  try {
    const other = (await createOrg(h.kv, "Другая фирма", { actor: SYSTEM_ACTOR })).id;
    assert.equal((await h.svc.settings(h.org)).webhookUrl, h.fake.webhookUrl);
    assert.equal((await h.svc.settings(other)).webhookUrl, undefined);
    const r = await h.svc.intake(other, request("O-1", "Механообработка"), { requestId: "req-o" });
    assert.equal(r.outcome, "failed");
    assert.equal(r.failure, `${NOT_CONFIGURED_MESSAGE}\nИдентификатор запроса: req-o`);
    assert.equal(
      NOT_CONFIGURED_MESSAGE,
      "Bitrix24 is not configured for this organization: set its inbound webhook on the 1C → Bitrix24 page",
    );
    assert.equal(h.fake.state.tasks.filter((t) => t.title === "Задача O-1").length, 0);
    assert.deepEqual(await h.svc.refreshCaches(other), { requests: 0, refreshed: [] });
    // With its own webhook it works.
    await h.settings.write(other, SETTINGS_SECTION, { webhookUrl: h.fake.webhookUrl }, ["webhookUrl"]);
    assert.equal((await h.svc.intake(other, request("O-1", "Механообработка"))).outcome, "ok");
  } finally {
    await h.close();
  }
});

Deno.test("a time budget stored above the cap is read capped below the claim's lifetime", async () => {
  const h = await setup({ settings: { budgetMs: 600_000 } });
  try {
    assert.equal((await h.svc.settings(h.org)).budgetMs, MAX_BUDGET_MS);
    assert.ok(MAX_BUDGET_MS <= LOCK_TTL - 30_000);
  } finally {
    await h.close();
  }
});
