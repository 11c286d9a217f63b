/**
 * Versioned Postgres migrations for the enrichment sink, applied at start-up
 * in one transaction under an advisory lock, so two hubs starting together
 * do not race. Each version runs once; `shlyuz_migrations` records it.
 * Version 1 keeps a table left by the replaced service (`id, data,
 * task_type`) and version 2 adds our columns to it.
 */
import type postgres from "postgres";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "integration_service table",
    sql: `create table if not exists integration_service (
      id bigserial primary key,
      data jsonb not null,
      task_type text not null
    )`,
  },
  {
    version: 2,
    name: "organization, task id, source, created_at; unique (org, task_id)",
    sql: `alter table integration_service
        add column if not exists org text not null default '',
        add column if not exists task_id bigint,
        add column if not exists source text not null default '',
        add column if not exists created_at timestamptz not null default now();
      create unique index if not exists integration_service_org_task on integration_service (org, task_id);
      create index if not exists integration_service_org_type_id on integration_service (org, task_type, id desc);
      create index if not exists integration_service_org_id on integration_service (org, id desc)`,
  },
  {
    version: 3,
    name: "content_hash (null for rows stored before it)",
    sql: `alter table integration_service add column if not exists content_hash text`,
  },
];

/** Applies the migrations not applied yet; returns the versions it applied. */
export async function migrate(sql: postgres.Sql, migrations = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(current_schema() || '.shlyuz_migrations'))`;
    await tx`create table if not exists shlyuz_migrations (
      version int primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`;
    const done = new Set(
      (await tx<{ version: number }[]>`select version from shlyuz_migrations`).map((r) => r.version),
    );
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`insert into shlyuz_migrations (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
  });
  return applied;
}
