/**
 * SLA analytics on normalized tickets, pure: how far each ticket is over its
 * SLA, how long it stayed in each department, which departments own the
 * overdue time, how long suspended tickets have been waiting, and why.
 *
 * @example
 * const ranking = departmentRanking(arrears, Date.now());
 * // [{ department: "Сеть", overdueMs: 7_200_000, share: 0.75, tickets: 2 }, …]
 */
import type { Ticket } from "./ticket.ts";

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

/** How far past its SLA deadline a ticket is at `now`, ms (0 when not over or no deadline). */
export function overdueMs(t: Ticket, now: number): number {
  const deadline = ms(t.slaDeadline);
  return deadline === null ? 0 : Math.max(0, now - deadline);
}

/** The ticket's stays as closed intervals (an open stay ends at `now`); the current department when no history. */
function stays(t: Ticket, now: number): Array<{ department: string; from: number; to: number }> {
  if (t.history.length === 0) {
    return t.department ? [{ department: t.department, from: Date.parse(t.createdAt), to: now }] : [];
  }
  return t.history.map((h) => ({ department: h.department, from: Date.parse(h.from), to: ms(h.to) ?? now }))
    .filter((s) => s.to > s.from);
}

/** Time the ticket spent in each department, ms, in the order the departments first had it. */
export function timePerDepartment(t: Ticket, now: number): Array<{ department: string; ms: number }> {
  const out = new Map<string, number>();
  for (const s of stays(t, now)) out.set(s.department, (out.get(s.department) ?? 0) + (s.to - s.from));
  return [...out].map(([department, v]) => ({ department, ms: v }));
}

/** The part of each stay that fell after the SLA deadline: who held the ticket while it was late. */
export function overduePerDepartment(t: Ticket, now: number): Array<{ department: string; ms: number }> {
  const deadline = ms(t.slaDeadline);
  if (deadline === null || deadline >= now) return [];
  const out = new Map<string, number>();
  for (const s of stays(t, now)) {
    const part = Math.min(s.to, now) - Math.max(s.from, deadline);
    if (part > 0) out.set(s.department, (out.get(s.department) ?? 0) + part);
  }
  return [...out].map(([department, v]) => ({ department, ms: v }));
}

export interface DepartmentShare {
  department: string;
  overdueMs: number;
  /** Share of all overdue time, 0..1. */
  share: number;
  /** Overdue tickets this department held while they were late. */
  tickets: number;
}

/** Departments ranked by their share of the overdue time of `tickets` (largest first, then by name). */
export function departmentRanking(tickets: Ticket[], now: number): DepartmentShare[] {
  const total = new Map<string, { ms: number; tickets: number }>();
  let all = 0;
  for (const t of tickets) {
    for (const d of overduePerDepartment(t, now)) {
      const cur = total.get(d.department) ?? { ms: 0, tickets: 0 };
      cur.ms += d.ms;
      cur.tickets += 1;
      total.set(d.department, cur);
      all += d.ms;
    }
  }
  return [...total].map(([department, v]) => ({
    department,
    overdueMs: v.ms,
    share: all ? v.ms / all : 0,
    tickets: v.tickets,
  })).sort((a, b) => b.overdueMs - a.overdueMs || a.department.localeCompare(b.department));
}

export interface OverdueRow {
  id: string;
  title: string;
  status: string;
  priority: string | null;
  department: string | null;
  assignee: string | null;
  slaDeadline: string | null;
  reason: string | null;
  overdueMs: number;
  departments: Array<{ department: string; ms: number }>;
}

/**
 * The overdue filter's tickets, most overdue first, with the time each department had them. The
 * filter is the ticket system's word on what is overdue: a ticket stays listed when its deadline is
 * unknown or our clock disagrees (overdueMs 0).
 */
export function overdueTable(tickets: Ticket[], now: number): OverdueRow[] {
  return tickets.map((t) => ({
    id: t.id,
    title: t.title,
    status: t.status,
    priority: t.priority,
    department: t.department,
    assignee: t.assignee,
    slaDeadline: t.slaDeadline,
    reason: t.reason,
    overdueMs: overdueMs(t, now),
    departments: timePerDepartment(t, now),
  })).sort((a, b) => b.overdueMs - a.overdueMs || a.id.localeCompare(b.id));
}

export interface SuspendedRow {
  id: string;
  title: string;
  department: string | null;
  assignee: string | null;
  reason: string | null;
  suspendedSince: string | null;
  /** How long suspended at `now`, ms (null when the system does not say since when). */
  suspendedMs: number | null;
}

/** Suspended tickets, longest suspended first. */
export function suspendedTable(tickets: Ticket[], now: number): SuspendedRow[] {
  return tickets.map((t) => {
    const since = ms(t.suspendedSince);
    return {
      id: t.id,
      title: t.title,
      department: t.department,
      assignee: t.assignee,
      reason: t.reason,
      suspendedSince: t.suspendedSince,
      suspendedMs: since === null ? null : Math.max(0, now - since),
    };
  }).sort((a, b) => (b.suspendedMs ?? -1) - (a.suspendedMs ?? -1) || a.id.localeCompare(b.id));
}

/** Overdue tickets grouped by their reason (null: the system gave none), most overdue time first. */
export function reasons(
  tickets: Ticket[],
  now: number,
): Array<{ reason: string | null; tickets: number; overdueMs: number }> {
  const out = new Map<string | null, { tickets: number; overdueMs: number }>();
  for (const t of tickets) {
    const o = overdueMs(t, now);
    if (o <= 0) continue;
    const cur = out.get(t.reason) ?? { tickets: 0, overdueMs: 0 };
    cur.tickets += 1;
    cur.overdueMs += o;
    out.set(t.reason, cur);
  }
  return [...out].map(([reason, v]) => ({ reason, ...v })).sort((a, b) => b.overdueMs - a.overdueMs);
}
