/**
 * Typed Bitrix24 methods used by the 1C intake, on top of the transport.
 * Reads that can go together are exposed as batch builders so callers can
 * put several into one HTTP request.
 */
import { z } from "zod";
import type { BatchCommand, BatchOutcome } from "./batch.ts";
import { apiError, type BitrixClient, type CallOptions } from "./client.ts";
import * as s from "./schemas.ts";

/** Task fields in Bitrix's UPPER_CASE form (only what Shlyuz sets). */
export interface TaskFields {
  TITLE?: string;
  DESCRIPTION?: string;
  RESPONSIBLE_ID?: number;
  CREATED_BY?: number;
  DEADLINE?: string;
  PRIORITY?: "0" | "1" | "2";
  GROUP_ID?: number;
  AUDITORS?: number[];
  UF_TASK_WEBDAV_FILES?: string[];
}

/** Open = not completed (5) and not deferred (6): statuses 1–4, i.e. `<REAL_STATUS: 5` (reference §1.8). */
export const OPEN_TASK_FILTER = { "<REAL_STATUS": 5 } as const;

/** All departments of the portal (paged). */
export async function listDepartments(client: BitrixClient, opts: CallOptions = {}): Promise<s.Department[]> {
  const rows = await client.listAll("department.get", { sort: "ID", order: "ASC" }, opts);
  return z.array(s.department).parse(rows);
}

/** Active employees of the given departments (direct membership), one batch for all. */
export async function listUsersOf(
  client: BitrixClient,
  departmentIds: number[],
  opts: CallOptions = {},
): Promise<Map<number, s.User[]>> {
  const cmds: Record<string, BatchCommand> = {};
  for (const id of departmentIds) {
    cmds[`d${id}`] = {
      method: "user.get",
      params: { FILTER: { UF_DEPARTMENT: id, ACTIVE: "true", USER_TYPE: "employee" } },
    };
  }
  const out = new Map<number, s.User[]>();
  if (!departmentIds.length) return out;
  const res = await client.batch(cmds, opts);
  const more: Record<string, BatchCommand> = {};
  for (const id of departmentIds) {
    const key = `d${id}`;
    failOn(res, key, "user.get");
    out.set(id, z.array(s.user).parse(res.result[key] ?? []));
    const total = res.total[key] ?? 0;
    for (let start = res.next[key] ?? total; start < total; start += 50) {
      more[`d${id}_${start}`] = { method: "user.get", params: { ...cmds[key].params, start } };
    }
  }
  if (Object.keys(more).length) {
    const rest = await client.batch(more, opts);
    for (const key of Object.keys(more)) {
      failOn(rest, key, "user.get");
      const id = Number(key.slice(1).split("_")[0]);
      out.get(id)!.push(...z.array(s.user).parse(rest.result[key] ?? []));
    }
  }
  return out;
}

/** A user by id (for naming a fallback responsible outside every section), or undefined. */
export async function findUserById(client: BitrixClient, id: number, opts: CallOptions = {}) {
  const rows = await client.get("user.get", { FILTER: { ID: id } }, z.array(s.user), opts);
  return rows[0];
}

/** A user by e-mail (for mapping the 1C author), or undefined. */
export async function findUserByEmail(client: BitrixClient, email: string, opts: CallOptions = {}) {
  const rows = await client.get("user.get", { FILTER: { EMAIL: email } }, z.array(s.user), opts);
  return rows.find((u) => u.active) ?? rows[0];
}

/** A workgroup/project by exact name, or undefined. */
export async function findGroupByName(client: BitrixClient, name: string, opts: CallOptions = {}) {
  const rows = await client.get("sonet_group.get", { FILTER: { NAME: name } }, z.array(s.group), opts);
  return rows.find((g) => !g.closed) ?? rows[0];
}

/** The webhook user's Drive storage (files go into its root folder). */
export async function findUserStorage(client: BitrixClient, userId: number, opts: CallOptions = {}) {
  const rows = await client.get(
    "disk.storage.getList",
    { filter: { ENTITY_TYPE: "user", ENTITY_ID: userId } },
    z.array(s.storage),
    opts,
  );
  return rows[0];
}

/** Batch commands counting each user's open tasks (read `total` of key `t<id>`). */
export function openTaskCountCommands(userIds: number[]): Record<string, BatchCommand> {
  const cmds: Record<string, BatchCommand> = {};
  for (const id of userIds) {
    cmds[`t${id}`] = {
      method: "tasks.task.list",
      params: {
        filter: { RESPONSIBLE_ID: id, ...OPEN_TASK_FILTER },
        select: ["ID"],
      },
    };
  }
  return cmds;
}

/** Open task counts of `userIds`, one batch (≤ 50 users per HTTP request). */
export async function countOpenTasks(
  client: BitrixClient,
  userIds: number[],
  opts: CallOptions = {},
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (!userIds.length) return out;
  const res = await client.batch(openTaskCountCommands(userIds), opts);
  for (const id of userIds) {
    const key = `t${id}`;
    failOn(res, key, "tasks.task.list");
    const page = s.taskList.safeParse(res.result[key]);
    out.set(id, res.total[key] ?? (page.success ? page.data.tasks.length : 0));
  }
  return out;
}

/** Creates a task. A write: never retried except on rate-limit answers. */
export async function addTask(client: BitrixClient, fields: TaskFields, opts: CallOptions = {}) {
  const r = await client.get("tasks.task.add", { fields }, s.taskResult, { ...opts, write: true });
  return r.task;
}

/** Updates a task. Idempotent (same fields, same result), so it may retry on any transient error. */
export async function updateTask(client: BitrixClient, taskId: number, fields: TaskFields, opts: CallOptions = {}) {
  const r = await client.get("tasks.task.update", { taskId, fields }, s.taskResult, opts);
  return r.task;
}

/** Tasks matching a filter (first page), for finding a task created by an answer that got lost. */
export async function findTasks(client: BitrixClient, filter: Record<string, unknown>, opts: CallOptions = {}) {
  const r = await client.get(
    "tasks.task.list",
    {
      filter,
      select: ["ID", "TITLE", "DESCRIPTION", "RESPONSIBLE_ID", "GROUP_ID", "STATUS", "CREATED_DATE"],
      order: { ID: "desc" },
    },
    s.taskList,
    opts,
  );
  return r.tasks;
}

/** Uploads a file into a Drive folder (not batchable). Returns the Drive object id. */
export async function uploadFile(
  client: BitrixClient,
  folderId: number,
  file: { name: string; base64: string },
  opts: CallOptions = {},
): Promise<number> {
  const r = await client.get(
    "disk.folder.uploadFile",
    { id: folderId, data: { NAME: file.name }, fileContent: [file.name, file.base64], generateUniqueName: true },
    s.diskFile,
    { ...opts, write: true },
  );
  return r.ID;
}

/** Attaches an uploaded Drive file to an existing task. */
export async function attachFile(client: BitrixClient, taskId: number, fileId: number, opts: CallOptions = {}) {
  await client.call("tasks.task.files.attach", { taskId, fileId }, { ...opts, write: true });
}

/** Batch commands for the presence snapshot of `userIds` (absences, calendar, portal calendar, time tracking). */
export function presenceCommands(userIds: number[], from: string, to: string): Record<string, BatchCommand> {
  const cmds: Record<string, BatchCommand> = {
    settings: { method: "calendar.settings.get" },
  };
  for (let i = 0; i < userIds.length; i += 40) {
    const ids = userIds.slice(i, i + 40);
    cmds[`im${i}`] = { method: "im.user.list.get", params: { ID: ids, RESULT_TYPE: "array" } };
    cmds[`acc${i}`] = { method: "calendar.accessibility.get", params: { users: ids, from, to } };
  }
  for (const id of userIds) cmds[`tm${id}`] = { method: "timeman.settings", params: { USER_ID: id } };
  return cmds;
}

/** Throws the sub-request's error, if any. */
export function failOn(res: BatchOutcome, key: string, method: string): void {
  const err = res.error[key];
  if (err) throw apiError(method, err.error, err.error_description, 400);
}
