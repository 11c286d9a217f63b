/**
 * The SLA service: takes each poll's tickets (a `tickets.query` result),
 * stores the snapshot (KV, and the Postgres history when configured),
 * announces new breaches and suspensions once, keeps the hourly trend, and
 * computes the dashboard from the latest snapshots.
 */
import type { Logger } from "../log.ts";
import type { EventPublisher } from "../events/types.ts";
import {
  departmentRanking,
  type DepartmentShare,
  overdueMs,
  type OverdueRow,
  overdueTable,
  reasons,
  type SuspendedRow,
  suspendedTable,
} from "./analytics.ts";
import { SlaKvStore, type SnapshotMeta, type TrendPoint } from "./store.ts";
import type { FilterKind, Ticket } from "./ticket.ts";

/** Where snapshots also go for an external BI tool (Postgres when DATABASE_URL is set). */
export interface SlaHistorySink {
  readonly name: string;
  write(org: string, filter: FilterKind, meta: SnapshotMeta, tickets: Ticket[]): Promise<void>;
  close(): Promise<void>;
}

export interface SlaDashboard {
  now: string;
  updatedAt: { arrears: string | null; stopped: string | null };
  counters: { overdue: number; suspended: number; overdueMsTotal: number; overdueMsMax: number; departments: number };
  overdue: OverdueRow[];
  suspended: SuspendedRow[];
  departments: DepartmentShare[];
  reasons: Array<{ reason: string | null; tickets: number; overdueMs: number }>;
  trends: TrendPoint[];
}

export interface SlaServiceOptions {
  kv: Deno.Kv;
  log: Logger;
  now: () => number;
  events: EventPublisher;
  sink?: SlaHistorySink | null;
}

export class SlaService {
  readonly store: SlaKvStore;
  readonly #o: SlaServiceOptions;

  constructor(opts: SlaServiceOptions) {
    this.#o = opts;
    this.store = new SlaKvStore(opts.kv);
  }

  get sinkName(): string {
    return this.#o.sink?.name ?? "kv";
  }

  /** Stores one poll's tickets and announces what changed. */
  async ingest(
    org: string,
    filter: FilterKind,
    tickets: Ticket[],
    { connectorId = null, jobId = null, truncated = false }: {
      connectorId?: string | null;
      jobId?: string | null;
      truncated?: boolean;
    } = {},
  ): Promise<SnapshotMeta> {
    const now = this.#o.now();
    const meta = await this.store.saveSnapshot(org, filter, tickets, {
      snapId: jobId ?? `s${now}`,
      at: new Date(now).toISOString(),
      truncated,
      connectorId,
      jobId,
    });
    let newBreaches = 0;
    if (filter === "arrears") {
      newBreaches = await this.#announceBreaches(org, tickets, now);
      await this.store.recordTrend(org, now, {
        arrears: tickets.length,
        overdueMs: tickets.reduce((n, t) => n + overdueMs(t, now), 0),
      });
    } else {
      await this.#announceSuspensions(org, tickets);
      await this.store.recordTrend(org, now, { stopped: tickets.length });
    }
    if (this.#o.sink) {
      try {
        await this.#o.sink.write(org, filter, meta, tickets);
      } catch (error) {
        // The KV snapshot is in; the history sink catches up on the next poll.
        this.#o.log.error("SLA history sink failed", { sink: this.#o.sink.name, error });
      }
    }
    const other = await this.store.snapshotMeta(org, filter === "arrears" ? "stopped" : "arrears");
    await this.#o.events.publish(org, "sla.snapshot", {
      connectorId,
      filter,
      takenAt: meta.at,
      overdue: filter === "arrears" ? tickets.length : other?.count ?? 0,
      suspended: filter === "stopped" ? tickets.length : other?.count ?? 0,
      newBreaches,
    });
    return meta;
  }

  /** A ticket in the overdue filter is breached; the mark (per deadline) makes the event fire once per breach. */
  async #announceBreaches(org: string, tickets: Ticket[], now: number): Promise<number> {
    const marks = await this.store.marks(org, "breach");
    const seen = new Set<string>();
    let announced = 0;
    for (const t of tickets) {
      seen.add(t.id);
      const basis = t.slaDeadline;
      const cur = marks.get(t.id);
      if (cur && cur.mark.basis === basis) continue;
      const made = await this.store.claimMark(org, "breach", t.id, {
        basis,
        at: new Date(now).toISOString(),
        title: t.title,
      }, cur?.versionstamp ?? null);
      if (!made) continue;
      announced++;
      await this.#o.events.publish(org, "sla.breached", {
        ticketId: t.id,
        title: t.title,
        department: t.department,
        slaDeadline: basis ?? "",
        overdueMs: overdueMs(t, now),
      });
    }
    for (const [id, cur] of marks) {
      if (seen.has(id)) continue;
      if (!(await this.store.claimMark(org, "breach", id, null, cur.versionstamp))) continue;
      const deadline = cur.mark.basis ? Date.parse(cur.mark.basis) : NaN;
      await this.#o.events.publish(org, "sla.recovered", {
        ticketId: id,
        title: cur.mark.title,
        overdueMs: Number.isNaN(deadline) ? 0 : Math.max(0, now - deadline),
      });
    }
    return announced;
  }

  async #announceSuspensions(org: string, tickets: Ticket[]) {
    const marks = await this.store.marks(org, "suspended");
    const seen = new Set<string>();
    for (const t of tickets) {
      seen.add(t.id);
      const cur = marks.get(t.id);
      if (cur && cur.mark.basis === t.suspendedSince) continue;
      const made = await this.store.claimMark(org, "suspended", t.id, {
        basis: t.suspendedSince,
        at: new Date(this.#o.now()).toISOString(),
        title: t.title,
      }, cur?.versionstamp ?? null);
      if (made) {
        await this.#o.events.publish(org, "sla.suspended", {
          ticketId: t.id,
          title: t.title,
          suspendedSince: t.suspendedSince,
        });
      }
    }
    for (const [id, cur] of marks) {
      if (!seen.has(id)) await this.store.claimMark(org, "suspended", id, null, cur.versionstamp);
    }
  }

  /** Everything the dashboard and the BI endpoints show, computed at `now`. */
  async dashboard(org: string, { days = 14 }: { days?: number } = {}): Promise<SlaDashboard> {
    const now = this.#o.now();
    const [arrears, stopped] = await Promise.all([
      this.store.snapshot(org, "arrears"),
      this.store.snapshot(org, "stopped"),
    ]);
    const overdue = overdueTable(arrears.tickets, now);
    const departments = departmentRanking(arrears.tickets, now);
    return {
      now: new Date(now).toISOString(),
      updatedAt: { arrears: arrears.meta?.at ?? null, stopped: stopped.meta?.at ?? null },
      counters: {
        overdue: arrears.tickets.length,
        suspended: stopped.tickets.length,
        overdueMsTotal: overdue.reduce((n, r) => n + r.overdueMs, 0),
        overdueMsMax: overdue[0]?.overdueMs ?? 0,
        departments: departments.length,
      },
      overdue,
      suspended: suspendedTable(stopped.tickets, now),
      departments,
      reasons: reasons(arrears.tickets, now),
      trends: await this.store.trends(org, { days, now }),
    };
  }

  async close(): Promise<void> {
    await this.#o.sink?.close();
  }
}
