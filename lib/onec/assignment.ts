/**
 * Who gets a task: the least-busy available employee of the Production
 * section named by the calculation.
 *
 * 1. Find «Производство» (name configurable) and match the calculation to one
 *    of the departments under it (lib/onec/matching.ts).
 * 2. Candidates: its active staff, by availability (lib/onec/workdays.ts) —
 *    people working today first; when nobody is, people available on the
 *    next working day; absent people never.
 * 3. Busyness: open tasks (statuses 1–4) of every candidate, read in one
 *    batch call. Ties go to whoever was assigned least recently (then the
 *    lower user id, so the choice is deterministic).
 * 4. No match, no candidate → the fallback responsible, with `unassigned`
 *    set so the caller publishes `onec.unassigned`.
 */
import { countOpenTasks } from "../bitrix/methods.ts";
import type { Department, Directory } from "./directory.ts";
import { matchDepartment, type MatchRule } from "./matching.ts";
import type { OnecSettings } from "./settings.ts";
import { type Availability, availability } from "./workdays.ts";

export interface CandidateView {
  id: number;
  name: string;
  availability: Availability;
  why: string;
  openTasks?: number;
  lastAssignedAt?: number;
}

export interface Assignment {
  responsibleId: number;
  responsibleName: string;
  section?: { id: number; name: string };
  rule?: MatchRule;
  /** Why this person, in Russian, for the intake log and the event. */
  reason: string;
  /** Set when nobody could be chosen by the rules and the fallback got the task. */
  unassigned?: string;
  candidates: CandidateView[];
}

/** Thrown when even the fallback cannot be determined. */
export class NoResponsibleError extends Error {
  override name = "NoResponsibleError";
}

export interface AssignOptions {
  settings: OnecSettings;
  now: number;
  /** User id → epoch ms of their last assignment by the intake. */
  lastAssigned: Map<number, number>;
}

/** Picks the least-busy candidate; ties → least recently assigned → lower id. */
export function pickLeastBusy<T extends { id: number; openTasks: number; lastAssignedAt: number }>(
  list: T[],
): T | undefined {
  return [...list].sort((a, b) => a.openTasks - b.openTasks || a.lastAssignedAt - b.lastAssignedAt || a.id - b.id)[0];
}

/** Chooses the responsible for a task with calculation `calculation`. */
export async function assign(dir: Directory, calculation: string, opts: AssignOptions): Promise<Assignment> {
  const { settings } = opts;
  const { production, sections } = await dir.production();
  if (!production) {
    return await fallback(dir, opts, {
      why: `в структуре Bitrix24 нет подразделения «${settings.productionDepartment}»`,
    });
  }
  const match = matchDepartment(calculation, sections, { fuzzy: settings.fuzzyMatch });
  if (match.kind !== "match") {
    const why = match.kind === "ambiguous"
      ? `калькуляция «${calculation}» подходит к нескольким участкам: ${
        match.departments.map((d) => d.name).join(", ")
      }`
      : `нет участка производства для калькуляции «${calculation}»`;
    return await fallback(dir, opts, { why, productionHead: production.head });
  }
  const section = match.department;
  const staff = await dir.staff(section);
  const presence = await dir.presence(section, staff);
  const views: CandidateView[] = staff.map((p) => {
    const a = availability(presence.people[p.id], presence.calendar, { now: opts.now, timeZone: settings.timeZone });
    return { id: p.id, name: p.name, availability: a.when, why: a.why };
  });
  const tier = views.some((v) => v.availability === "today")
    ? "today"
    : views.some((v) => v.availability === "next")
    ? "next"
    : undefined;
  if (!tier) {
    const why = staff.length
      ? `все сотрудники участка «${section.name}» отсутствуют`
      : `на участке «${section.name}» нет сотрудников`;
    return await fallback(dir, opts, { why, section, productionHead: production.head, candidates: views });
  }
  const pool = views.filter((v) => v.availability === tier);
  const counts = await countOpenTasks(dir.client, pool.map((v) => v.id));
  const scored = pool.map((v) => ({
    ...v,
    openTasks: counts.get(v.id) ?? 0,
    lastAssignedAt: opts.lastAssigned.get(v.id) ?? 0,
  }));
  for (const s of scored) {
    Object.assign(views.find((v) => v.id === s.id)!, { openTasks: s.openTasks, lastAssignedAt: s.lastAssignedAt });
  }
  const chosen = pickLeastBusy(scored)!;
  const others = scored.filter((s) => s.id !== chosen.id).map((s) => s.openTasks);
  const tie = scored.filter((s) => s.openTasks === chosen.openTasks).length > 1;
  const reason = [
    `участок «${section.name}» (${ruleText(match.rule)})`,
    `наименее загружен: ${chosen.openTasks} откр. задач${others.length ? ` (у других: ${others.join(", ")})` : ""}`,
    tie ? "при равной загрузке — давнее всех получал задачу" : "",
    tier === "next" ? `сегодня никто не работает — ${chosen.why}` : "",
    awayNames(views, tier),
  ].filter(Boolean).join("; ");
  return {
    responsibleId: chosen.id,
    responsibleName: chosen.name,
    section: { id: section.id, name: section.name },
    rule: match.rule,
    reason,
    candidates: views,
  };
}

function ruleText(rule: MatchRule): string {
  return rule === "exact" ? "точное совпадение" : rule === "contains" ? "название входит в калькуляцию" : "с опечаткой";
}

function awayNames(views: CandidateView[], tier: Availability): string {
  const away = views.filter((v) => v.availability === "absent" || (tier === "today" && v.availability === "next"));
  return away.length ? `не в работе: ${away.map((v) => `${v.name} (${v.why})`).join(", ")}` : "";
}

async function fallback(
  dir: Directory,
  opts: AssignOptions,
  ctx: {
    why: string;
    section?: Department;
    productionHead?: number;
    candidates?: CandidateView[];
  },
): Promise<Assignment> {
  const { settings } = opts;
  const order = settings.fallback === "head"
    ? [ctx.section?.head, settings.fallbackUserId, ctx.productionHead]
    : [settings.fallbackUserId, ctx.section?.head, ctx.productionHead];
  const id = order.find((x): x is number => typeof x === "number" && x > 0);
  if (!id) {
    throw new NoResponsibleError(
      `Cannot assign the task: ${ctx.why}, and no fallback responsible is set — set one in the 1C → Bitrix24 settings`,
    );
  }
  const who = id === ctx.section?.head
    ? "руководитель участка"
    : id === settings.fallbackUserId
    ? "ответственный по умолчанию"
    : "руководитель производства";
  let name: string | undefined;
  if (ctx.section) name = (await dir.staff(ctx.section)).find((p) => p.id === id)?.name;
  // The fallback person often works outside every section (a dispatcher): ask the portal for the name.
  if (!name) name = await dir.userName(id).catch(() => null) ?? `#${id}`;
  return {
    responsibleId: id,
    responsibleName: name,
    section: ctx.section ? { id: ctx.section.id, name: ctx.section.name } : undefined,
    reason: `${ctx.why}; назначен ${who}`,
    unassigned: ctx.why,
    candidates: ctx.candidates ?? [],
  };
}
