/**
 * State and method handlers of the Bitrix24 fake (see bitrix24.ts). Each
 * handler takes already-decoded params and returns `{result, total?, next?}`
 * or throws FakeError with the documented code and HTTP status.
 */

export class FakeError extends Error {
  constructor(readonly status: number, readonly code: string, readonly description: string) {
    super(`${code}: ${description}`);
  }
}

export interface FakeDepartment {
  ID: string;
  NAME: string;
  SORT: number;
  PARENT?: string;
  UF_HEAD?: string;
}

export interface FakeUser {
  ID: string;
  ACTIVE: boolean;
  NAME: string;
  LAST_NAME: string;
  SECOND_NAME?: string;
  EMAIL: string;
  WORK_POSITION?: string;
  UF_DEPARTMENT: number[];
  USER_TYPE: "employee" | "extranet";
}

export interface FakeTask {
  id: number;
  title: string;
  description: string;
  responsibleId: number;
  createdBy: number;
  groupId: number;
  deadline: string | null;
  priority: string;
  status: number;
  auditors: number[];
  files: string[];
  createdDate: string;
  /** Not visible to reads (list/get/update/attach) before this time (fake clock): a request still running. */
  visibleFrom?: number;
}

export interface FakeAbsence {
  userId: number;
  /** Inclusive local dates YYYY-MM-DD. */
  from: string;
  to: string;
  /** "chart": the absence chart (seen by im.user.list.get); "calendar": an absent calendar event. */
  via: "chart" | "calendar";
}

export interface FakeFault {
  method: string;
  times: number;
  status: number;
  error: string;
  description: string;
  /** Run the method, then lose the answer (504, not JSON). */
  afterCommit?: boolean;
  /**
   * With afterCommit on tasks.task.add: the task shows up in the portal only this
   * many ms (fake clock) later — Bitrix still running the request after the answer was lost.
   */
  visibleAfterMs?: number;
}

/** Whether a task is visible to reads yet (see FakeTask.visibleFrom). */
export function visibleTask(state: FakeState, t: FakeTask): boolean {
  return t.visibleFrom === undefined || t.visibleFrom <= state.now();
}

export interface FakeState {
  now: () => number;
  timeZone: string;
  departments: FakeDepartment[];
  users: FakeUser[];
  groups: Array<Record<string, string>>;
  tasks: FakeTask[];
  disk: Array<{ ID: number; NAME: string; PARENT_ID: number; size: number }>;
  storages: Array<{ ID: string; NAME: string; ENTITY_TYPE: string; ENTITY_ID: string; ROOT_OBJECT_ID: string }>;
  absences: FakeAbsence[];
  timeman: Map<number, Record<string, unknown>>;
  calendarSettings: Record<string, unknown>;
  /** Every HTTP request (not batch sub-requests): method and HTTP status. */
  calls: Array<{ method: string; at: number; status: number }>;
  rejected: number;
  faults: FakeFault[];
  operationLimited: Set<string>;
  latencyMs: number;
  nextId: { task: number; disk: number; attachment: number };
}

type Params = Record<string, unknown>;
type Out = { result: unknown; total?: number; next?: number };

const PAGE = 50;

function page<T>(rows: T[], params: Params): Out {
  const start = Number(params.start ?? params.START ?? 0);
  if (start === -1) return { result: rows.slice(0, PAGE) };
  const slice = rows.slice(start, start + PAGE);
  return { result: slice, total: rows.length, ...(start + PAGE < rows.length ? { next: start + PAGE } : {}) };
}

/** Local date YYYY-MM-DD of `ms` in the portal's zone. */
export function localDate(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);
}

const truthy = (v: unknown) => v === true || v === "true" || v === "Y" || v === "1" || v === 1;

/** Bitrix filter semantics: `KEY`, `!KEY`, `<KEY`, `<=KEY`, `>KEY`, `>=KEY`, `%KEY`, arrays = IN. */
function matches(get: (field: string) => unknown, filter: Params): boolean {
  for (const [rawKey, want] of Object.entries(filter)) {
    const m = rawKey.match(/^(!=|!|<=|>=|<|>|%|=|@)?(.+)$/)!;
    const op = m[1] ?? "=";
    const have = get(m[2].toUpperCase());
    if (have === undefined) continue; // GUESS: unknown filter keys are ignored
    const list = Array.isArray(want) ? want : [want];
    const eq = (a: unknown, b: unknown): boolean => {
      if (Array.isArray(a)) return a.some((x) => eq(x, b));
      if (typeof a === "boolean") return a === truthy(b);
      return String(a).toLowerCase() === String(b).toLowerCase();
    };
    const num = (v: unknown) => (typeof v === "string" && /^\d{4}-\d\d-\d\d/.test(v) ? Date.parse(v) : Number(v));
    let ok: boolean;
    switch (op) {
      case "!":
      case "!=":
        ok = !list.some((w) => eq(have, w));
        break;
      case "<":
        ok = num(have) < num(want);
        break;
      case "<=":
        ok = num(have) <= num(want);
        break;
      case ">":
        ok = num(have) > num(want);
        break;
      case ">=":
        ok = num(have) >= num(want);
        break;
      case "%":
        ok = String(have).toLowerCase().includes(String(want).toLowerCase());
        break;
      default:
        ok = list.some((w) => {
          if (typeof w === "string" && w.includes("%") && typeof have === "string") {
            const re = new RegExp("^" + w.split("%").map(escapeRe).join(".*") + "$", "i");
            return re.test(have);
          }
          return eq(have, w);
        });
    }
    if (!ok) return false;
  }
  return true;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function taskOut(t: FakeTask) {
  return {
    id: String(t.id),
    title: t.title,
    description: t.description,
    priority: t.priority,
    status: String(t.status),
    subStatus: String(t.status),
    responsibleId: String(t.responsibleId),
    createdBy: String(t.createdBy),
    groupId: String(t.groupId),
    deadline: t.deadline,
    createdDate: t.createdDate,
    auditors: t.auditors.map(String),
    accomplices: [],
    ufTaskWebdavFiles: t.files,
  };
}

function taskField(t: FakeTask, f: string): unknown {
  switch (f) {
    case "ID":
      return t.id;
    case "TITLE":
      return t.title;
    case "RESPONSIBLE_ID":
      return t.responsibleId;
    case "CREATED_BY":
      return t.createdBy;
    case "GROUP_ID":
      return t.groupId;
    case "REAL_STATUS":
    case "STATUS":
      return t.status;
    case "PRIORITY":
      return t.priority;
    case "CREATED_DATE":
      return t.createdDate;
    case "DEADLINE":
      return t.deadline ?? "";
    default:
      return undefined;
  }
}

function taskFields(state: FakeState, fields: Params, base?: FakeTask): FakeTask {
  const t: FakeTask = base ? { ...base } : {
    id: 0,
    title: "",
    description: "",
    responsibleId: 0,
    createdBy: 1,
    groupId: 0,
    deadline: null,
    priority: "1",
    status: 2,
    auditors: [],
    files: [],
    createdDate: isoLocal(state.now()),
  };
  if ("TITLE" in fields) t.title = String(fields.TITLE ?? "");
  if ("DESCRIPTION" in fields) t.description = String(fields.DESCRIPTION ?? "");
  if ("RESPONSIBLE_ID" in fields) t.responsibleId = Number(fields.RESPONSIBLE_ID);
  if ("CREATED_BY" in fields) t.createdBy = Number(fields.CREATED_BY);
  if ("GROUP_ID" in fields) t.groupId = Number(fields.GROUP_ID);
  if ("DEADLINE" in fields) t.deadline = fields.DEADLINE ? String(fields.DEADLINE) : null;
  if ("PRIORITY" in fields) t.priority = String(fields.PRIORITY);
  if ("STATUS" in fields) t.status = Number(fields.STATUS);
  if ("AUDITORS" in fields) t.auditors = toArray(fields.AUDITORS).map(Number);
  if ("UF_TASK_WEBDAV_FILES" in fields) {
    const files = toArray(fields.UF_TASK_WEBDAV_FILES).map(String);
    for (const f of files) {
      if (!state.disk.some((d) => `n${d.ID}` === f)) throw new FakeError(400, "ERROR_CORE", `File ${f} not found<br>`);
    }
    t.files = files;
  }
  if (!t.title) throw new FakeError(400, "ERROR_CORE", "Task title is not specified<br>");
  if (!t.responsibleId) throw new FakeError(400, "ERROR_CORE", "Assignee not specified<br>");
  if (!state.users.some((u) => Number(u.ID) === t.responsibleId)) {
    throw new FakeError(400, "ERROR_CORE", "Responsible user not found<br>");
  }
  return t;
}

const toArray = (v: unknown): unknown[] =>
  Array.isArray(v) ? v : v && typeof v === "object" ? Object.values(v) : v === undefined || v === "" ? [] : [v];

function isoLocal(ms: number): string {
  return new Date(ms + 3 * 3600_000).toISOString().replace(/\.\d+Z$/, "+03:00");
}

function upload(state: FakeState, folderId: number, params: Params): Out {
  const data = (params.data ?? {}) as Params;
  if (!data.NAME) throw new FakeError(400, "DISK_BASE_SERVICE_22001", "Name is not specified");
  const content = toArray(params.fileContent);
  if (content.length !== 2) throw new FakeError(400, "ERROR_COULD_NOT_SAVE_FILE", "Could not save file");
  const size = atob(String(content[1])).length;
  const obj = { ID: state.nextId.disk++, NAME: String(data.NAME), PARENT_ID: folderId, size };
  state.disk.push(obj);
  return {
    result: {
      ID: obj.ID,
      NAME: obj.NAME,
      CODE: null,
      STORAGE_ID: "1",
      TYPE: "file",
      PARENT_ID: String(folderId),
      FILE_ID: obj.ID + 100000,
      SIZE: String(size),
    },
  };
}

export const handlers: Record<string, (state: FakeState, params: Params) => Out> = {
  "department.get": (state, p) => {
    const filter: Params = {};
    for (const k of ["ID", "NAME", "PARENT", "UF_HEAD"]) if (p[k] !== undefined) filter[k] = p[k];
    const rows = state.departments.filter((d) => matches((f) => (d as unknown as Params)[f] ?? "", filter));
    const sort = String(p.sort ?? "SORT");
    rows.sort((a, b) => Number((a as unknown as Params)[sort] ?? 0) - Number((b as unknown as Params)[sort] ?? 0));
    return page(rows, p);
  },
  "user.get": (state, p) => {
    const filter = { ...(p.FILTER as Params ?? p.filter as Params ?? {}) };
    for (const k of ["ID", "ACTIVE", "UF_DEPARTMENT", "EMAIL", "USER_TYPE"]) if (p[k] !== undefined) filter[k] = p[k];
    const rows = state.users.filter((u) => matches((f) => (u as unknown as Params)[f], filter));
    return page(rows, p);
  },
  "sonet_group.get": (state, p) => {
    const filter = (p.FILTER ?? p.filter ?? {}) as Params;
    const rows = state.groups.filter((g) => matches((f) => g[f], filter)).sort((a, b) => Number(b.ID) - Number(a.ID));
    return page(rows, p);
  },
  "tasks.task.add": (state, p) => {
    if (!p.fields || typeof p.fields !== "object") {
      throw new FakeError(400, "100", "Could not find value for parameter {fields} (internal error)");
    }
    const t = taskFields(state, p.fields as Params);
    t.id = state.nextId.task++;
    state.tasks.push(t);
    return { result: { task: taskOut(t) } };
  },
  "tasks.task.update": (state, p) => {
    if (!p.taskId) throw new FakeError(400, "100", "Could not find value for parameter {taskId} (internal error)");
    const i = state.tasks.findIndex((t) => t.id === Number(p.taskId) && visibleTask(state, t));
    if (i < 0) throw new FakeError(400, "0", "wrong task id");
    state.tasks[i] = taskFields(state, (p.fields ?? {}) as Params, state.tasks[i]);
    return { result: { task: taskOut(state.tasks[i]) } };
  },
  "tasks.task.get": (state, p) => {
    const t = state.tasks.find((t) => t.id === Number(p.taskId) && visibleTask(state, t));
    if (!t) throw new FakeError(400, "0", "wrong task id");
    return { result: { task: taskOut(t) } };
  },
  "tasks.task.list": (state, p) => {
    const filter = (p.filter ?? {}) as Params;
    const rows = state.tasks.filter((t) => visibleTask(state, t) && matches((f) => taskField(t, f), filter))
      .sort((a, b) => b.id - a.id);
    const out = page(rows, p);
    return { ...out, result: { tasks: (out.result as FakeTask[]).map(taskOut) } };
  },
  "tasks.task.files.attach": (state, p) => {
    if (!p.fileId) throw new FakeError(400, "100", "Could not find value for parameter {fileId} (internal error)");
    const t = state.tasks.find((t) => t.id === Number(p.taskId) && visibleTask(state, t));
    if (!t) throw new FakeError(400, "0", "wrong task id");
    if (!state.disk.some((d) => d.ID === Number(p.fileId))) throw new FakeError(400, "0", "Access denied");
    t.files.push(`n${p.fileId}`);
    return { result: { attachmentId: state.nextId.attachment++ } };
  },
  "disk.storage.getlist": (state, p) => {
    const filter = (p.filter ?? {}) as Params;
    return page(state.storages.filter((s) => matches((f) => (s as unknown as Params)[f], filter)), p);
  },
  "disk.folder.uploadfile": (state, p) => {
    const id = Number(p.id);
    if (!id) throw new FakeError(400, "ERROR_ARGUMENT", "Argument 'id' is null or empty");
    if (!state.storages.some((s) => Number(s.ROOT_OBJECT_ID) === id)) {
      throw new FakeError(400, "ERROR_NOT_FOUND", `Could not find entity with id \`${id}\``);
    }
    return upload(state, id, p);
  },
  "disk.storage.uploadfile": (state, p) => {
    const s = state.storages.find((s) => Number(s.ID) === Number(p.id));
    if (!s) throw new FakeError(400, "ERROR_NOT_FOUND", `Could not find entity with id \`${p.id}\``);
    return upload(state, Number(s.ROOT_OBJECT_ID), p);
  },
  "im.user.list.get": (state, p) => {
    const ids = toArray(p.ID).map(Number);
    const today = localDate(state.now(), state.timeZone);
    const rows = ids.map((id) => {
      const u = state.users.find((u) => Number(u.ID) === id);
      if (!u) return null;
      const abs = state.absences.find((a) => a.userId === id && a.via === "chart" && a.from <= today && a.to >= today);
      return {
        id,
        active: u.ACTIVE,
        name: `${u.NAME} ${u.LAST_NAME}`,
        departments: u.UF_DEPARTMENT,
        status: "online",
        absent: abs ? `${abs.to}T23:59:59+03:00` : false,
      };
    }).filter(Boolean);
    return { result: p.RESULT_TYPE === "array" ? rows : Object.fromEntries(rows.map((r) => [r!.id, r])) };
  },
  "calendar.accessibility.get": (state, p) => {
    const users = toArray(p.users).map(Number);
    if (!users.length || !p.from || !p.to) throw new FakeError(400, "", "Required parameters are missing");
    const from = String(p.from), to = String(p.to);
    const result: Record<string, unknown[]> = {};
    for (const id of users) {
      result[id] = state.absences
        .filter((a) => a.userId === id && a.via === "calendar" && a.from <= to && a.to >= from)
        .map((a, i) => ({
          ID: String(700 + i),
          NAME: "Отпуск",
          DATE_FROM: a.from.split("-").reverse().join("."),
          DATE_TO: a.to.split("-").reverse().join("."),
          DATE_FROM_TS_UTC: String(Date.parse(`${a.from}T00:00:00+03:00`) / 1000),
          DATE_TO_TS_UTC: String(Date.parse(`${a.to}T00:00:00+03:00`) / 1000),
          DT_SKIP_TIME: "Y",
          ACCESSIBILITY: "absent",
          IMPORTANCE: "normal",
          EVENT_TYPE: "#shared#",
        }));
    }
    return { result: Object.keys(result).length ? result : [] };
  },
  "calendar.settings.get": (state) => ({ result: state.calendarSettings }),
  "timeman.settings": (state, p) => {
    const id = Number(p.USER_ID ?? 1);
    if (!state.users.some((u) => Number(u.ID) === id)) throw new FakeError(400, "", "User not found");
    return {
      result: state.timeman.get(id) ??
        {
          UF_TIMEMAN: false,
          UF_TM_FREE: false,
          UF_TM_MAX_START: "09:15:00",
          UF_TM_MIN_FINISH: "18:00:00",
          ADMIN: false,
        },
    };
  },
};

/** The sample company: a plant with «Производство» and its sections, and the project «Задачи из 1с». */
export function seedSample(state: FakeState): void {
  const d = (ID: number, NAME: string, PARENT?: number, UF_HEAD?: number): FakeDepartment => ({
    ID: String(ID),
    NAME,
    SORT: 500,
    ...(PARENT ? { PARENT: String(PARENT) } : {}),
    ...(UF_HEAD ? { UF_HEAD: String(UF_HEAD) } : {}),
  });
  state.departments.push(
    d(1, "ООО «Уральский завод металлоконструкций»", undefined, 1),
    d(2, "Производство", 1, 2),
    d(3, "Сварочный участок", 2, 3),
    d(4, "Участок покраски", 2, 6),
    d(5, "Механообработка", 2, 8),
    d(6, "Сборка металлоконструкций", 2),
    d(7, "Бухгалтерия", 1),
    d(8, "Отдел продаж", 1, 11),
  );
  const u = (
    ID: number,
    LAST_NAME: string,
    NAME: string,
    dept: number,
    WORK_POSITION: string,
    ACTIVE = true,
  ): FakeUser => ({
    ID: String(ID),
    ACTIVE,
    NAME,
    LAST_NAME,
    EMAIL: `user${ID}@zavod.example`,
    WORK_POSITION,
    UF_DEPARTMENT: [dept],
    USER_TYPE: "employee",
  });
  state.users.push(
    u(1, "Администратор", "Портал", 1, "Администратор портала"),
    u(2, "Кузнецов", "Андрей", 2, "Начальник производства"),
    u(3, "Сёмин", "Пётр", 3, "Мастер сварочного участка"),
    u(4, "Ёлкина", "Ольга", 3, "Сварщик"),
    u(5, "Павлов", "Игорь", 3, "Сварщик"),
    u(6, "Смирнова", "Наталья", 4, "Мастер участка покраски"),
    u(7, "Орлов", "Денис", 4, "Маляр"),
    u(8, "Фёдоров", "Михаил", 5, "Мастер механообработки"),
    u(9, "Зайцев", "Роман", 5, "Токарь"),
    u(10, "Уволенный", "Сотрудник", 3, "Сварщик", false),
    { ...u(11, "Иванова", "Мария", 8, "Менеджер по продажам"), EMAIL: "m.ivanova@zavod.example" },
    u(12, "Белов", "Сергей", 6, "Сборщик"),
  );
  state.groups.push({
    ID: "31",
    SITE_ID: "s1",
    NAME: "Задачи из 1с",
    ACTIVE: "Y",
    VISIBLE: "Y",
    OPENED: "N",
    CLOSED: "N",
    PROJECT: "Y",
    OWNER_ID: "1",
    IS_EXTRANET: "N",
  });
  state.storages.push({
    ID: "1",
    NAME: "Администратор Портал",
    ENTITY_TYPE: "user",
    ENTITY_ID: "1",
    ROOT_OBJECT_ID: "100",
  });
  const open = (responsibleId: number, n: number, status = 3) => {
    for (let i = 0; i < n; i++) {
      const t = taskFields(state, { TITLE: `Текущая работа ${i + 1}`, RESPONSIBLE_ID: responsibleId, STATUS: status });
      t.id = state.nextId.task++;
      state.tasks.push(t);
    }
  };
  open(3, 4);
  open(4, 2);
  open(5, 2);
  open(5, 5, 5); // completed tasks do not count
  open(6, 1);
  open(7, 3);
  open(9, 1);
}
