/**
 * The SLA history in PostgreSQL (when DATABASE_URL is set), for BI tools:
 * every poll's snapshot with its tickets and their department hand-offs.
 * Migrations are versioned in their own table `sla_migrations`, applied at
 * start-up under an advisory lock, like the enrichment sink's.
 *
 * Tables: `sla_snapshots` (one row per poll and filter), `sla_tickets` (the
 * normalized tickets of a snapshot) and `sla_handoffs` (each ticket's stays
 * in departments). A snapshot is written in one transaction and keyed by its
 * job id, so a repeated write is a no-op.
 */
// Loaded by open() (only a hub with an SLA Postgres URL needs the driver).
import type postgres from "postgres";
import type { Logger } from "../log.ts";
import type { SlaHistorySink } from "./service.ts";
import type { SnapshotMeta } from "./store.ts";
import type { FilterKind, Ticket } from "./ticket.ts";

export const SLA_MIGRATIONS = [
  {
    version: 1,
    name: "sla_snapshots, sla_tickets, sla_handoffs",
    sql: `create table if not exists sla_snapshots (
        id bigserial primary key,
        org text not null,
        filter text not null,
        snap_id text not null,
        taken_at timestamptz not null,
        connector_id text,
        ticket_count int not null,
        truncated boolean not null default false,
        unique (org, snap_id)
      );
      create index if not exists sla_snapshots_org_filter_taken on sla_snapshots (org, filter, taken_at desc);
      create table if not exists sla_tickets (
        snapshot_id bigint not null references sla_snapshots (id) on delete cascade,
        ticket_id text not null,
        title text not null,
        status text not null,
        priority text,
        department text,
        assignee text,
        created_at timestamptz not null,
        sla_deadline timestamptz,
        suspended_since timestamptz,
        reason text,
        primary key (snapshot_id, ticket_id)
      );
      create table if not exists sla_handoffs (
        snapshot_id bigint not null references sla_snapshots (id) on delete cascade,
        ticket_id text not null,
        seq int not null,
        department text not null,
        from_at timestamptz not null,
        to_at timestamptz,
        primary key (snapshot_id, ticket_id, seq)
      )`,
  },
];

async function migrate(sql: postgres.Sql): Promise<number[]> {
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(current_schema() || '.sla_migrations'))`;
    await tx`create table if not exists sla_migrations (
      version int primary key, name text not null, applied_at timestamptz not null default now())`;
    const done = new Set((await tx<{ version: number }[]>`select version from sla_migrations`).map((r) => r.version));
    for (const m of SLA_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`insert into sla_migrations (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
  });
  return applied;
}

export class PostgresSlaSink implements SlaHistorySink {
  readonly name = "postgres";
  readonly sql: postgres.Sql;

  private constructor(sql: postgres.Sql) {
    this.sql = sql;
  }

  static async open(
    { url, schema, log, max = 5 }: { url: string; schema?: string; log?: Logger; max?: number },
  ): Promise<PostgresSlaSink> {
    if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Cannot use schema ${schema}: invalid name`);
    const { default: postgres } = await import("postgres");
    const sql = postgres(url, { max, onnotice: () => {}, connection: schema ? { search_path: schema } : undefined });
    try {
      if (schema) await sql.unsafe(`create schema if not exists ${schema}`);
      const applied = await migrate(sql);
      if (applied.length) log?.info("SLA postgres migrations applied", { versions: applied });
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw new Error(`Cannot open the SLA Postgres history: ${error instanceof Error ? error.message : error}`, {
        cause: error,
      });
    }
    return new PostgresSlaSink(sql);
  }

  async write(org: string, filter: FilterKind, meta: SnapshotMeta, tickets: Ticket[]): Promise<void> {
    await this.sql.begin(async (tx) => {
      const [snap] = await tx<{ id: string }[]>`
        insert into sla_snapshots (org, filter, snap_id, taken_at, connector_id, ticket_count, truncated)
        values (${org}, ${filter}, ${meta.snapId}, ${meta.at}, ${meta.connectorId}, ${tickets.length}, ${meta.truncated})
        on conflict (org, snap_id) do nothing
        returning id`;
      if (!snap) return; // written before
      const rows = tickets.map((t) => ({
        snapshot_id: snap.id,
        ticket_id: t.id,
        title: t.title,
        status: t.status,
        priority: t.priority,
        department: t.department,
        assignee: t.assignee,
        created_at: t.createdAt,
        sla_deadline: t.slaDeadline,
        suspended_since: t.suspendedSince,
        reason: t.reason,
      }));
      // Batches stay far below Postgres's 65 535 bind parameters.
      for (let i = 0; i < rows.length; i += 1000) await tx`insert into sla_tickets ${tx(rows.slice(i, i + 1000))}`;
      const handoffs = tickets.flatMap((t) =>
        t.history.map((h, seq) => ({
          snapshot_id: snap.id,
          ticket_id: t.id,
          seq,
          department: h.department,
          from_at: h.from,
          to_at: h.to,
        }))
      );
      for (let i = 0; i < handoffs.length; i += 2000) {
        await tx`insert into sla_handoffs ${tx(handoffs.slice(i, i + 2000))}`;
      }
    });
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
