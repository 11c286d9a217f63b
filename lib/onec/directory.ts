/**
 * The slice of the Bitrix24 portal the intake needs — departments, the staff
 * and presence of a section, the project, the upload folder — read through
 * the KV caches. With warm caches none of these costs a Bitrix call.
 */
import type { BitrixClient } from "../bitrix/client.ts";
import { webhookUserId } from "../bitrix/client.ts";
import {
  failOn,
  findGroupByName,
  findUserByEmail,
  findUserById,
  findUserStorage,
  listDepartments,
  listUsersOf,
  presenceCommands,
} from "../bitrix/methods.ts";
import * as s from "../bitrix/schemas.ts";
import { UpstreamApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { BitrixCache } from "./cache.ts";
import { normalizeName } from "./matching.ts";
import { type OnecSettings, ttls } from "./settings.ts";
import { addDays, localTime, type PortalCalendar, type Presence } from "./workdays.ts";

export type Department = s.Department;

export interface StaffMember {
  id: number;
  name: string;
  position?: string;
}

export interface PresenceSnapshot {
  calendar: PortalCalendar;
  people: Record<string, Presence>;
  /** Sources that failed (e.g. a scope missing), shown on the admin page. */
  warnings: string[];
}

export interface DirectoryOptions {
  client: BitrixClient;
  cache: BitrixCache;
  settings: OnecSettings;
  now: () => number;
  log?: Logger;
}

export class Directory {
  readonly #o: DirectoryOptions;
  readonly #ttl: ReturnType<typeof ttls>;

  constructor(opts: DirectoryOptions) {
    this.#o = opts;
    this.#ttl = ttls(opts.settings);
  }

  get client(): BitrixClient {
    return this.#o.client;
  }

  /** Every department of the portal (cached, default 1 h). */
  departments(force = false): Promise<Department[]> {
    const load = () => listDepartments(this.#o.client);
    return force
      ? this.#o.cache.refresh(["departments"], this.#ttl.departments, load)
      : this.#o.cache.get(["departments"], this.#ttl.departments, load);
  }

  /** The Production department and all departments under it (nearest first). */
  async production(): Promise<{ production?: Department; sections: Department[] }> {
    const deps = await this.departments();
    const want = normalizeName(this.#o.settings.productionDepartment);
    const production = deps.find((d) => normalizeName(d.name) === want);
    return { production, sections: production ? descendants(deps, production.id) : [] };
  }

  /** Active employees of a section and its sub-sections (cached, default 15 min). */
  staff(section: Department, force = false): Promise<StaffMember[]> {
    const load = async () => {
      const ids = [section.id, ...descendants(await this.departments(), section.id).map((d) => d.id)];
      const byDept = await listUsersOf(this.#o.client, ids);
      const seen = new Map<number, StaffMember>();
      for (const users of byDept.values()) {
        for (const u of users) {
          if (u.active && !seen.has(u.id)) seen.set(u.id, { id: u.id, name: u.name, position: u.position });
        }
      }
      return [...seen.values()].sort((a, b) => a.id - b.id);
    };
    const key = ["staff", String(section.id)];
    return force ? this.#o.cache.refresh(key, this.#ttl.users, load) : this.#o.cache.get(key, this.#ttl.users, load);
  }

  /** A user's name by id (cached like the staff lists); null when the portal has no such user. */
  userName(id: number, force = false): Promise<string | null> {
    const key = ["user", String(id)];
    const load = async () => (await findUserById(this.#o.client, id))?.name ?? null;
    return force ? this.#o.cache.refresh(key, this.#ttl.users, load) : this.#o.cache.get(key, this.#ttl.users, load);
  }

  /** Absences, time tracking and the portal calendar for a section's people (one batch; cached, default 15 min). */
  presence(section: Department, people: StaffMember[], force = false): Promise<PresenceSnapshot> {
    const key = ["presence", String(section.id)];
    const load = () => this.#loadPresence(people.map((p) => p.id));
    return force
      ? this.#o.cache.refresh(key, this.#ttl.presence, load)
      : this.#o.cache.get(key, this.#ttl.presence, load);
  }

  async #loadPresence(ids: number[]): Promise<PresenceSnapshot> {
    const tz = this.#o.settings.timeZone;
    const today = localTime(this.#o.now(), tz).date;
    const res = await this.#o.client.batch(presenceCommands(ids, today, addDays(today, 14)));
    failOn(res, "settings", "calendar.settings.get");
    const cs = s.calendarSettings.parse(res.result.settings);
    const calendar: PortalCalendar = {
      weekHolidays: cs.week_holidays,
      yearHolidays: splitList(cs.year_holidays),
      yearWorkdays: splitList(cs.year_workdays),
      workEndHour: Number(cs.work_time_end ?? 18) || 18,
    };
    const people: Record<string, Presence> = {};
    for (const id of ids) people[id] = { absentDays: [] };
    const warnings: string[] = [];
    for (const [key, err] of Object.entries(res.error)) {
      if (key === "settings") continue;
      const source = key.replace(/\d+$/, "");
      const line = `${source}: ${err.error} ${err.error_description}`.trim();
      if (!warnings.includes(line)) warnings.push(line);
    }
    for (const [key, value] of Object.entries(res.result)) {
      if (key.startsWith("im")) {
        const rows = Array.isArray(value) ? value : Object.values(value as object);
        for (const row of rows) {
          const u = s.imUser.safeParse(row);
          if (u.success && u.data.absent && people[u.data.id]) {
            people[u.data.id].absentUntil = /^\d{4}-\d\d-\d\d/.test(u.data.absent)
              ? u.data.absent.slice(0, 10)
              : localTime(Date.parse(u.data.absent), tz).date;
          }
        }
      } else if (key.startsWith("acc")) {
        const acc = s.accessibility.safeParse(value);
        if (!acc.success || Array.isArray(acc.data)) continue;
        for (const [uid, events] of Object.entries(acc.data)) {
          for (const ev of events) {
            if (ev.ACCESSIBILITY !== "absent" || !people[uid]) continue;
            people[uid].absentDays.push(...eventDays(ev, tz));
          }
        }
      } else if (key.startsWith("tm")) {
        const tm = s.timemanSettings.safeParse(value);
        const id = key.slice(2);
        if (tm.success && people[id] && tm.data.UF_TIMEMAN && !tm.data.UF_TM_FREE && tm.data.UF_TM_MIN_FINISH) {
          people[id].dayEnds = tm.data.UF_TM_MIN_FINISH;
        }
      }
    }
    if (warnings.length) this.#o.log?.warn("Bitrix24 presence sources failed", { warnings });
    return { calendar, people, warnings };
  }

  /** The project's id, found by name (cached, default 24 h). */
  project(force = false): Promise<{ id: number; name: string }> {
    const name = this.#o.settings.projectName;
    const load = async () => {
      const g = await findGroupByName(this.#o.client, name);
      if (!g) {
        throw new UpstreamApiError(
          `Bitrix24 has no project «${name}» visible to the webhook user — create it or change the project name in the 1C → Bitrix24 settings`,
          { service: "Bitrix24", code: "PROJECT_NOT_FOUND" },
        );
      }
      return { id: g.id, name: g.name };
    };
    const key = ["project", normalizeName(name)];
    return force
      ? this.#o.cache.refresh(key, this.#ttl.project, load)
      : this.#o.cache.get(key, this.#ttl.project, load);
  }

  /** The Drive folder files are uploaded to (setting, else the webhook user's storage root; cached 24 h). */
  folder(force = false): Promise<number> {
    if (this.#o.settings.diskFolderId) return Promise.resolve(this.#o.settings.diskFolderId);
    const load = async () => {
      const st = await findUserStorage(this.#o.client, webhookUserId(this.#o.settings.webhookUrl ?? ""));
      if (!st?.ROOT_OBJECT_ID) {
        throw new UpstreamApiError(
          "Bitrix24 shows no Drive storage of the webhook user — set the Drive folder id in the 1C → Bitrix24 settings",
          { service: "Bitrix24", code: "STORAGE_NOT_FOUND" },
        );
      }
      return st.ROOT_OBJECT_ID;
    };
    return force
      ? this.#o.cache.refresh(["folder"], this.#ttl.project, load)
      : this.#o.cache.get(["folder"], this.#ttl.project, load);
  }

  /** A Bitrix24 user id by e-mail, or null (cached both ways as long as the project, 24 h: it rarely changes). */
  userIdByEmail(email: string): Promise<number | null> {
    const key = ["email", email.trim().toLowerCase()];
    return this.#o.cache.get(
      key,
      this.#ttl.project,
      async () => (await findUserByEmail(this.#o.client, email))?.id ?? null,
    );
  }
}

/** Departments below `id`, breadth first. */
export function descendants(deps: Department[], id: number): Department[] {
  const out: Department[] = [];
  let level = [id];
  const seen = new Set(level);
  while (level.length) {
    const next = deps.filter((d) => d.parent !== undefined && level.includes(d.parent) && !seen.has(d.id));
    for (const d of next) seen.add(d.id);
    out.push(...next);
    level = next.map((d) => d.id);
  }
  return out;
}

function splitList(v: string): string[] {
  return v.split(",").map((x) => x.trim()).filter(Boolean);
}

/** Local days an `absent` calendar event covers (DATE_FROM/DATE_TO are "dd.mm.yyyy[ hh:mm:ss]"). */
function eventDays(ev: s.AccessibilityEvent, tz: string): string[] {
  const toIso = (v?: string) => {
    const m = v?.match(/^(\d\d)\.(\d\d)\.(\d{4})/);
    return m ? `${m[3]}-${m[2]}-${m[1]}` : undefined;
  };
  const from = toIso(ev.DATE_FROM) ??
    (ev.DATE_FROM_TS_UTC ? localTime(ev.DATE_FROM_TS_UTC * 1000, tz).date : undefined);
  const to = toIso(ev.DATE_TO) ?? (ev.DATE_TO_TS_UTC ? localTime(ev.DATE_TO_TS_UTC * 1000, tz).date : from);
  if (!from || !to) return [];
  const days: string[] = [];
  for (let d = from; d <= to && days.length < 62; d = addDays(d, 1)) days.push(d);
  return days;
}
