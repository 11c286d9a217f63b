/**
 * The Postgres sink (DATABASE_URL): a pooled npm:postgres client, migrations
 * at start-up, and an insert that is safe under concurrency —
 * `INSERT … ON CONFLICT (org, task_id) DO NOTHING RETURNING id`, then a
 * select for the rows that already existed, so a repeat gets the first id —
 * unless that row was stored for other content (`content_hash`), which is a
 * `TaskConflictError`.
 */
// Loaded by open() (only a hub with DATABASE_URL needs the driver).
import type postgres from "postgres";
import type { Logger } from "../../log.ts";
import { migrate } from "../migrations.ts";
import { TaskConflictError } from "../processor_types.ts";
import { TASK_TYPES, type TaskType } from "../task_schema.ts";
import { type NewRow, type Row, type RowPage, RowRejectedError, type RowSink, type StoredRows } from "./types.ts";

export interface PostgresSinkOptions {
  url: string;
  /** A schema to work in (created when missing); tests use their own. Default: the server's search_path. */
  schema?: string;
  /** Pool size. Default 10. */
  max?: number;
  log?: Logger;
}

interface DbRow {
  id: string;
  org: string;
  task_id: string;
  task_type: TaskType;
  source: string;
  data: unknown;
  created_at: Date;
}

export class PostgresSink implements RowSink {
  readonly name = "postgres" as const;
  readonly #sql: postgres.Sql;

  private constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  /** Connects, creates the schema when asked, and applies pending migrations. */
  static async open({ url, schema, max = 10, log }: PostgresSinkOptions): Promise<PostgresSink> {
    if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Cannot use schema ${schema}: invalid name`);
    const { default: postgres } = await import("postgres");
    const sql = postgres(url, {
      max,
      onnotice: () => {},
      connection: schema ? { search_path: schema } : undefined,
    });
    try {
      if (schema) await sql.unsafe(`create schema if not exists ${schema}`);
      const applied = await migrate(sql);
      if (applied.length) log?.info("postgres migrations applied", { versions: applied });
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw new Error(`Cannot open the Postgres sink: ${error instanceof Error ? error.message : error}`, {
        cause: error,
      });
    }
    return new PostgresSink(sql);
  }

  async store(org: string, rows: NewRow[]): Promise<StoredRows> {
    if (rows.length === 0) return { ids: [], writes: [] };
    const sql = this.#sql;
    const values = rows.map((r) => ({
      org,
      task_id: r.task_id,
      task_type: r.task_type,
      source: r.source,
      data: sql.json(r.data as postgres.JSONValue),
      content_hash: r.hash ?? null,
    }));
    let inserted: Array<{ id: string; task_id: string }>;
    try {
      inserted = await sql<{ id: string; task_id: string }[]>`
        insert into integration_service ${sql(values, "org", "task_id", "task_type", "source", "data", "content_hash")}
        on conflict (org, task_id) do nothing
        returning id, task_id`;
    } catch (error) {
      throw rejectedRow(error) ?? error;
    }
    const byTask = new Map(inserted.map((r) => [Number(r.task_id), Number(r.id)]));
    const missing = rows.filter((r) => !byTask.has(r.task_id)).map((r) => r.task_id);
    if (missing.length) {
      const existing = await sql<{ id: string; task_id: string; content_hash: string | null }[]>`
        select id, task_id, content_hash from integration_service
        where org = ${org} and task_id = any(${missing}::bigint[])`;
      const hashOf = new Map(rows.map((r) => [r.task_id, r.hash]));
      for (const r of existing) {
        const want = hashOf.get(Number(r.task_id));
        // A row stored for other content is not this task's answer (rows from before migration 3 have no hash).
        if (r.content_hash !== null && want !== undefined && r.content_hash !== want) {
          throw new TaskConflictError(Number(r.task_id));
        }
        byTask.set(Number(r.task_id), Number(r.id));
      }
    }
    const ids = rows.map((r) => {
      const id = byTask.get(r.task_id);
      if (id === undefined) throw new Error(`Cannot store row for task ${r.task_id}: no id came back`);
      return id;
    });
    return { ids, writes: [] };
  }

  /** Rows are stored before the done commit, so they add nothing to it. */
  commitBytes(): number {
    return 0;
  }

  async get(org: string, id: number): Promise<Row | null> {
    const rows = await this.#sql<DbRow[]>`
      select id, org, task_id, task_type, source, data, created_at
      from integration_service where org = ${org} and id = ${id}`;
    return rows[0] ? toRow(rows[0]) : null;
  }

  async list(
    org: string,
    { type, cursor, limit = 50 }: { type?: TaskType; cursor?: string; limit?: number } = {},
  ): Promise<RowPage> {
    if (type && !TASK_TYPES.includes(type)) return { items: [] };
    const sql = this.#sql;
    // Row ids are bigints: a longer number would make PostgreSQL fail the whole query.
    const before = cursor && /^\d{1,18}$/.test(cursor) ? cursor : null;
    const rows = await sql<DbRow[]>`
      select id, org, task_id, task_type, source, data, created_at from integration_service
      where org = ${org}
        ${type ? sql`and task_type = ${type}` : sql``}
        ${before ? sql`and id < ${before}` : sql``}
      order by id desc limit ${limit + 1}`;
    const items = rows.slice(0, limit).map(toRow);
    return { items, cursor: rows.length > limit ? String(items[items.length - 1].id) : undefined };
  }

  /** Rows of one organization (tests and the page). */
  async count(org: string): Promise<number> {
    const [r] = await this.#sql<{ n: string }[]>`select count(*) as n from integration_service where org = ${org}`;
    return Number(r.n);
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

function toRow(r: DbRow): Row {
  return {
    id: Number(r.id),
    org: r.org,
    task_id: Number(r.task_id),
    task_type: r.task_type,
    source: r.source,
    data: r.data,
    created_at: r.created_at.toISOString(),
  };
}

/**
 * A refusal of the values themselves (SQLSTATE class 22, data exception — e.g. 22P02 for a lone surrogate in
 * jsonb — or class 23 other than the unique key the insert handles) as a `RowRejectedError`; null for
 * anything else (connection lost, server down, schema missing), which is an outage.
 */
function rejectedRow(error: unknown): RowRejectedError | null {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !/^2[23][0-9A-Z]{3}$/.test(code) || code === "23505") return null;
  const message = error instanceof Error ? error.message : String(error);
  return new RowRejectedError(`PostgreSQL refused the row (SQLSTATE ${code}): ${message}`, { cause: error });
}
