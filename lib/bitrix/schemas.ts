/**
 * zod schemas for the parts of Bitrix24 answers Shlyuz reads (reference
 * bitrix24.md). Ids arrive as strings and are turned into numbers here, so the
 * rest of the code sees one type. Unknown fields pass through untouched.
 */
import { z } from "zod";

const id = z.union([z.string(), z.number()]).transform((v) => Number(v)).pipe(z.number().int());
const optId = z.union([z.string(), z.number(), z.null()]).optional().transform((v) =>
  v === undefined || v === null || v === "" || v === "0" || v === 0 ? undefined : Number(v)
);
/** Bitrix booleans: true/false, "Y"/"N", "1"/"0". */
const yesNo = z.union([z.boolean(), z.string(), z.number()]).transform((v) =>
  v === true || v === "Y" || v === "1" || v === 1 || v === "true"
);

/** The error envelope of a failed call: `{error, error_description}`. */
export const errorEnvelope = z.object({
  error: z.union([z.string(), z.number()]).transform(String),
  error_description: z.string().optional().default(""),
});

/** A successful call: `{result, total?, next?, time}`. */
export const okEnvelope = z.object({
  result: z.unknown(),
  total: z.number().optional(),
  next: z.number().optional(),
  time: z.record(z.string(), z.unknown()).optional(),
});

/** department.get row. */
export const department = z.object({
  ID: id,
  NAME: z.string(),
  SORT: z.union([z.string(), z.number()]).optional(),
  PARENT: optId,
  UF_HEAD: optId,
}).transform((d) => ({ id: d.ID, name: d.NAME, parent: d.PARENT, head: d.UF_HEAD }));
export type Department = z.output<typeof department>;

/** user.get row (only what assignment needs). */
export const user = z.object({
  ID: id,
  ACTIVE: yesNo.optional().default(true),
  NAME: z.string().nullish(),
  LAST_NAME: z.string().nullish(),
  SECOND_NAME: z.string().nullish(),
  EMAIL: z.string().nullish(),
  WORK_POSITION: z.string().nullish(),
  UF_DEPARTMENT: z.array(z.union([z.string(), z.number()]).transform(Number)).nullish(),
}).transform((u) => ({
  id: u.ID,
  active: u.ACTIVE,
  name: [u.LAST_NAME, u.NAME].filter(Boolean).join(" ") || `#${u.ID}`,
  email: u.EMAIL ?? undefined,
  position: u.WORK_POSITION ?? undefined,
  departments: u.UF_DEPARTMENT ?? [],
}));
export type User = z.output<typeof user>;

/** sonet_group.get row. */
export const group = z.object({
  ID: id,
  NAME: z.string(),
  ACTIVE: z.string().optional(),
  CLOSED: z.string().optional(),
  PROJECT: z.string().optional(),
}).transform((g) => ({ id: g.ID, name: g.NAME, closed: g.CLOSED === "Y", project: g.PROJECT === "Y" }));
export type Group = z.output<typeof group>;

/** tasks.task.* task object (camelCase on the wire). */
export const task = z.object({
  id,
  title: z.string().optional(),
  description: z.string().nullish(),
  status: z.union([z.string(), z.number()]).optional().transform((v) => (v === undefined ? undefined : Number(v))),
  responsibleId: optId,
  groupId: optId,
  createdDate: z.string().nullish(),
});
export type Task = z.output<typeof task>;

/** `{"result":{"task":{...}}}` of tasks.task.add / update / get. */
export const taskResult = z.object({ task });
/** `{"result":{"tasks":[...]}}` of tasks.task.list. */
export const taskList = z.object({ tasks: z.array(task) });

/** disk.*.uploadFile result. */
export const diskFile = z.object({ ID: id, NAME: z.string().optional(), FILE_ID: optId });

/** disk.storage.getList row. */
export const storage = z.object({
  ID: id,
  ENTITY_TYPE: z.string().optional(),
  ENTITY_ID: z.union([z.string(), z.number()]).optional().transform((v) => (v === undefined ? undefined : String(v))),
  ROOT_OBJECT_ID: optId,
});

/** im.user.list.get row: `absent` is the absence end date (ISO) or false. */
export const imUser = z.object({
  id,
  active: z.boolean().optional(),
  absent: z.union([z.string(), z.literal(false), z.null()]).optional().transform((v) => (v ? v : undefined)),
});

/** One busy interval of calendar.accessibility.get. */
export const accessibilityEvent = z.object({
  DATE_FROM_TS_UTC: z.union([z.string(), z.number()]).transform(Number).optional(),
  DATE_TO_TS_UTC: z.union([z.string(), z.number()]).transform(Number).optional(),
  DATE_FROM: z.string().optional(),
  DATE_TO: z.string().optional(),
  DT_SKIP_TIME: z.string().optional(),
  ACCESSIBILITY: z.string().optional(),
});
/** calendar.accessibility.get: user id → busy events. PHP sends `[]` for an empty map. */
export const accessibility = z.union([z.record(z.string(), z.array(accessibilityEvent)), z.array(z.never())]);

/** calendar.settings.get (the portal work calendar). */
export const calendarSettings = z.object({
  work_time_start: z.union([z.string(), z.number()]).optional(),
  work_time_end: z.union([z.string(), z.number()]).optional(),
  week_holidays: z.array(z.string()).optional().default(["SA", "SU"]),
  year_holidays: z.string().optional().default(""),
  year_workdays: z.string().optional().default(""),
});

/** timeman.settings for one user. */
export const timemanSettings = z.object({
  UF_TIMEMAN: yesNo.optional(),
  UF_TM_FREE: yesNo.optional(),
  UF_TM_MAX_START: z.string().nullish(),
  UF_TM_MIN_FINISH: z.string().nullish(),
});

/** The `result` of a batch call. PHP sends `[]` instead of `{}` for empty maps. */
const phpMap = <T extends z.ZodType>(v: T) =>
  z.union([z.record(z.string(), v), z.array(z.unknown())]).optional().transform((m) =>
    !m || Array.isArray(m) ? {} as Record<string, z.output<T>> : m
  );
export const batchResult = z.object({
  result: phpMap(z.unknown()),
  result_error: phpMap(z.unknown()),
  result_total: phpMap(z.number()),
  result_next: phpMap(z.number()),
});
export type AccessibilityEvent = z.output<typeof accessibilityEvent>;
