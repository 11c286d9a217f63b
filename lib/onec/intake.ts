/**
 * One 1C request → Bitrix24 tasks. Per task: take the 1C id's claim; if the
 * id is known, update the task; otherwise choose the responsible, create the
 * task in the project and remember 1C id → task id. A task whose creation was
 * interrupted is looked up in Bitrix (same title, project, responsible, not
 * older than the attempt, and the 1C id line in its description) on every
 * later attempt; it is created again only when the reconcile grace period
 * (longer than Bitrix's 60 s execution limit) has passed with nothing found.
 */
import { isRateLimited } from "../bitrix/client.ts";
import { addTask, attachFile, findTasks, type TaskFields, updateTask, uploadFile } from "../bitrix/methods.ts";
import { RateLimitWaitError } from "../bitrix/rate_limiter.ts";
import { UpstreamApiError } from "../errors.ts";
import { assign, type Assignment } from "./assignment.ts";
import type { Directory } from "./directory.ts";
import { normalizeName } from "./matching.ts";
import type { OnecRequest, OnecTask } from "./request_schema.ts";
import type { OnecSettings } from "./settings.ts";
import {
  claim,
  fileHash,
  getTaskRecord,
  lastAssigned,
  type LogTask,
  putTaskRecord,
  recordCreated,
  type TaskRecord,
} from "./store.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { EventInput } from "../events/types.ts";
import type { onecEvents } from "./events.ts";

/** The answer 1C gets when an existing task could not be updated (contract of the replaced service). */
export const UPDATE_FAILED_MESSAGE = "При обновлении задачи произошла ошибка";

export interface IntakeContext {
  org: string;
  requestId: string;
  kv: Deno.Kv;
  clock: Clock;
  log: Logger;
  dir: Directory;
  settings: OnecSettings;
  deadline: number;
  publish<T extends keyof typeof onecEvents>(type: T, data: EventInput<T>): Promise<unknown>;
  /** Serializes choose-and-create per key (one process), so concurrent tasks see each other's load. */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

export interface IntakeResult {
  outcome: "ok" | "update_failed" | "failed";
  tasks: LogTask[];
  /** The 500 text for 1C when outcome is "failed". */
  failure?: string;
}

/** Processes every task of a request (in order) and sums up the outcome. */
export async function runIntake(ctx: IntakeContext, req: OnecRequest): Promise<IntakeResult> {
  const tasks: LogTask[] = [];
  for (const t of req.tasks) tasks.push(await processTask(ctx, t));
  const failed = tasks.filter((t) => t.op === "failed");
  if (failed.length) {
    const lines = failed.map((t) => `Не удалось создать задачу «${t.title}» (1С: ${t.onecId}): ${t.error}`);
    return { outcome: "failed", tasks, failure: `${lines.join("\n")}\nИдентификатор запроса: ${ctx.requestId}` };
  }
  return { outcome: tasks.some((t) => t.op === "update_failed") ? "update_failed" : "ok", tasks };
}

async function processTask(ctx: IntakeContext, t: OnecTask): Promise<LogTask> {
  const base = { onecId: t.id, title: t.title, calculation: t.calculation };
  let release: (() => Promise<void>) | undefined;
  try {
    release = await claim(ctx.kv, ctx.org, t.id, { clock: ctx.clock, deadline: ctx.deadline });
    let rec = await getTaskRecord(ctx.kv, ctx.org, t.id);
    if (rec?.state === "creating") {
      const found = await reconcile(ctx, rec);
      // Bitrix may still be creating it: creating again now could make a second task.
      if (!found && ctx.clock.now() - rec.startedAt < ctx.settings.reconcileGraceMs) throw pending(ctx, rec);
      rec = found;
    }
    if (rec?.state === "created") return await update(ctx, t, rec);
    return await create(ctx, t);
  } catch (error) {
    const message = errorText(error);
    ctx.log.error("1C task failed", { requestId: ctx.requestId, onecId: t.id, error });
    await ctx.publish("onec.task.failed", { ...base, op: "create", error: message, requestId: ctx.requestId });
    return { ...base, op: "failed", error: message };
  } finally {
    await release?.();
  }
}

async function create(ctx: IntakeContext, t: OnecTask): Promise<LogTask> {
  const { dir, settings } = ctx;
  const project = await dir.project();
  const files = await uploadAll(ctx, t, []);
  const [author, auditors] = await Promise.all([resolvePerson(ctx, t.author), resolvePeople(ctx, t.observers)]);
  return await ctx.exclusive(`${ctx.org}\n${normalizeName(t.calculation)}`, async () => {
    const a = await assign(dir, t.calculation, {
      settings,
      now: ctx.clock.now(),
      lastAssigned: await lastAssigned(ctx.kv, ctx.org),
    });
    const fields: TaskFields = {
      ...taskFields(t, settings, auditors.ids, auditors.unknown, author),
      RESPONSIBLE_ID: a.responsibleId,
      GROUP_ID: project.id,
      ...(files.ids.length ? { UF_TASK_WEBDAV_FILES: files.ids.map((id) => `n${id}`) } : {}),
    };
    const author_id = author ?? settings.defaultAuthorId;
    if (author_id) fields.CREATED_BY = author_id;
    const rec: TaskRecord = {
      onecId: t.id,
      state: "creating",
      title: t.title,
      responsibleId: a.responsibleId,
      responsibleName: a.responsibleName,
      groupId: project.id,
      sectionName: a.section?.name,
      files: files.hashes,
      startedAt: ctx.clock.now(),
    };
    await putTaskRecord(ctx.kv, ctx.org, rec);
    let taskId: number;
    try {
      taskId = (await addTask(dir.client, fields, { deadline: ctx.deadline })).id;
    } catch (error) {
      // The API said no, or the limit held until the deadline: nothing was created.
      if (error instanceof UpstreamApiError || error instanceof RateLimitWaitError || isRateLimited(error)) {
        await ctx.kv.delete(["onec_task", ctx.org, t.id]);
        throw error;
      }
      // The answer was lost: the task may exist, or appear later (Bitrix may run a request
      // for up to 60 s). Look now; if it is not there yet, keep the "creating" record so
      // every re-send looks again instead of creating a second task.
      ctx.log.warn("tasks.task.add answer lost", { onecId: t.id, error });
      const found = await reconcile(ctx, rec);
      if (!found) throw pending(ctx, rec);
      taskId = found.taskId!;
    }
    const now = ctx.clock.now();
    await recordCreated(ctx.kv, ctx.org, { ...rec, state: "created", taskId, createdAt: now }, now);
    const url = taskUrl(settings, project.id, taskId);
    const out = {
      onecId: t.id,
      title: t.title,
      calculation: t.calculation,
      op: "created",
      taskId,
      url,
      responsible: { id: a.responsibleId, name: a.responsibleName },
      section: a.section?.name,
      reason: a.reason,
      unassigned: Boolean(a.unassigned),
    } satisfies LogTask;
    await publishCreated(ctx, out, a);
    return out;
  });
}

async function publishCreated(
  ctx: IntakeContext,
  out: Omit<EventInput<"onec.task.created">, "requestId">,
  a: Assignment,
) {
  const data = { ...out, requestId: ctx.requestId };
  if (a.unassigned) {
    ctx.log.warn("1C task went to the fallback responsible", { onecId: out.onecId, why: a.unassigned });
    await ctx.publish("onec.unassigned", { ...data, why: a.unassigned });
  }
  await ctx.publish("onec.task.created", data);
}

async function update(ctx: IntakeContext, t: OnecTask, rec: TaskRecord): Promise<LogTask> {
  const base = {
    onecId: t.id,
    title: t.title,
    calculation: t.calculation,
    taskId: rec.taskId,
    url: taskUrl(ctx.settings, rec.groupId, rec.taskId!),
    section: rec.sectionName,
  };
  try {
    const [author, auditors] = await Promise.all([resolvePerson(ctx, t.author), resolvePeople(ctx, t.observers)]);
    await updateTask(
      ctx.dir.client,
      rec.taskId!,
      taskFields(t, ctx.settings, auditors.ids, auditors.unknown, author),
      { deadline: ctx.deadline },
    );
    const files = await uploadAll(ctx, t, rec.files);
    for (const id of files.ids) await attachFile(ctx.dir.client, rec.taskId!, id, { deadline: ctx.deadline });
    await putTaskRecord(ctx.kv, ctx.org, {
      ...rec,
      title: t.title,
      files: [...rec.files, ...files.hashes],
      updatedAt: ctx.clock.now(),
    });
    const out = {
      ...base,
      op: "updated",
      responsible: { id: rec.responsibleId, name: rec.responsibleName ?? "" },
    } satisfies LogTask;
    await ctx.publish("onec.task.updated", { ...out, requestId: ctx.requestId });
    return out;
  } catch (error) {
    const message = errorText(error);
    ctx.log.error("1C task update failed", { requestId: ctx.requestId, onecId: t.id, taskId: rec.taskId, error });
    await ctx.publish("onec.task.failed", { ...base, op: "update", error: message, requestId: ctx.requestId });
    return { ...base, op: "update_failed", error: message };
  }
}

/**
 * A "creating" record means an earlier attempt may have created the task.
 * Find it by title, project and responsible, created after the attempt
 * began (a minute of clock skew allowed), carrying this 1C id's marker line;
 * adopt it, or return null and leave the record (the caller decides when
 * creating again is safe).
 */
async function reconcile(ctx: IntakeContext, rec: TaskRecord): Promise<TaskRecord | null> {
  const since = new Date(rec.startedAt - 60_000).toISOString().replace(/\.\d+Z$/, "+00:00");
  const found = await findTasks(ctx.dir.client, {
    GROUP_ID: rec.groupId,
    RESPONSIBLE_ID: rec.responsibleId,
    TITLE: rec.title,
    ">=CREATED_DATE": since,
  }, { deadline: ctx.deadline });
  const marker = onecMarker(rec.onecId);
  const task = found.find((x) =>
    x.title === rec.title &&
    // Same title from another 1C id is not ours; a portal that returns no description is matched by title.
    (x.description == null || x.description.split(/\r?\n/).some((line) => line.trim() === marker))
  );
  if (!task) return null;
  const adopted: TaskRecord = { ...rec, state: "created", taskId: task.id, createdAt: ctx.clock.now() };
  await recordCreated(ctx.kv, ctx.org, adopted, ctx.clock.now());
  ctx.log.warn("adopted a Bitrix24 task whose creation answer was lost", { onecId: rec.onecId, taskId: task.id });
  return adopted;
}

/** The description line that ties a Bitrix24 task to its 1C id (reconcile looks for it). */
function onecMarker(onecId: string): string {
  return `Идентификатор 1С: ${onecId}`;
}

/**
 * The error for a 1C id whose task may still appear in Bitrix24: 1C gets a 500
 * and re-sends; nothing is created again before the grace period ends.
 */
function pending(ctx: IntakeContext, rec: TaskRecord): Error {
  const left = Math.max(1, Math.ceil((rec.startedAt + ctx.settings.reconcileGraceMs - ctx.clock.now()) / 1000));
  return new Error(
    "Bitrix24 did not confirm creating the task and it is not visible yet (Bitrix24 may take up to 60 s); " +
      `re-send: until ${left} s from now it is only looked for, never created twice`,
  );
}

function taskFields(
  t: OnecTask,
  settings: OnecSettings,
  auditors: number[],
  unknownObservers: string[],
  authorId: number | undefined,
): TaskFields {
  const footer = [
    `Автор в 1С: ${t.author.name}${authorId ? "" : t.author.email ? ` <${t.author.email}>` : ""}`,
    unknownObservers.length ? `Наблюдатели (нет в Bitrix24): ${unknownObservers.join(", ")}` : "",
    `Калькуляция: ${t.calculation}`,
    onecMarker(t.id),
  ].filter(Boolean).join("\n");
  return {
    TITLE: t.title,
    DESCRIPTION: `${t.description ? `${t.description}\n\n` : ""}${footer}`,
    PRIORITY: t.priority,
    AUDITORS: auditors,
    ...(t.deadline ? { DEADLINE: withOffset(t.deadline, settings.timeZone) } : {}),
  };
}

/** Adds the organization's UTC offset to a deadline that has none. */
export function withOffset(deadline: string, timeZone: string): string {
  if (/[+-]\d\d:\d\d$/.test(deadline)) return deadline;
  const probe = Date.parse(`${deadline}Z`);
  const name = new Intl.DateTimeFormat("en", { timeZone, timeZoneName: "longOffset" }).formatToParts(probe)
    .find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = name.match(/GMT([+-]\d\d:\d\d)/);
  return `${deadline}${m ? m[1] : "+00:00"}`;
}

async function resolvePerson(ctx: IntakeContext, p: OnecTask["author"]): Promise<number | undefined> {
  if (p.bitrixUserId) return p.bitrixUserId;
  if (p.email) return (await ctx.dir.userIdByEmail(p.email)) ?? undefined;
  return undefined;
}

async function resolvePeople(ctx: IntakeContext, people: OnecTask["observers"]) {
  const ids: number[] = [];
  const unknown: string[] = [];
  for (const p of people) {
    const id = await resolvePerson(ctx, p);
    if (id) ids.includes(id) || ids.push(id);
    else unknown.push(p.name);
  }
  return { ids, unknown };
}

/** Uploads the files not attached yet; returns their Drive ids and hashes. */
async function uploadAll(ctx: IntakeContext, t: OnecTask, known: string[]) {
  const ids: number[] = [];
  const hashes: string[] = [];
  for (const f of t.files) {
    const h = await fileHash(f.name, f.content);
    if (known.includes(h) || hashes.includes(h)) continue;
    const folder = await ctx.dir.folder();
    ids.push(await uploadFile(ctx.dir.client, folder, { name: f.name, base64: f.content }, { deadline: ctx.deadline }));
    hashes.push(h);
  }
  return { ids, hashes };
}

/** Link to a project task on the portal. */
export function taskUrl(settings: OnecSettings, groupId: number, taskId: number): string {
  const origin = settings.webhookUrl ? new URL(settings.webhookUrl).origin : "";
  return `${origin}/workgroups/group/${groupId}/tasks/task/view/${taskId}/`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
