/**
 * The KV sink: rows under `["row", org, id]`, a type index under
 * `["row_type", org, type, id]`. Writes join the caller's atomic operation,
 * whose checks on the task keys make the insert safe under concurrency: a
 * row is written only by the commit that marks its task done, once.
 */
import { TASK_TYPES, type TaskType } from "../task_schema.ts";
import { IdAllocator } from "./id_allocator.ts";
import type { NewRow, Row, RowPage, RowSink } from "./types.ts";

export class KvSink implements RowSink {
  readonly name = "kv" as const;
  readonly #kv: Deno.Kv;
  readonly #ids: IdAllocator;
  readonly #now: () => number;

  constructor(kv: Deno.Kv, { now = Date.now, block }: { now?: () => number; block?: number } = {}) {
    this.#kv = kv;
    this.#ids = new IdAllocator(kv, { block });
    this.#now = now;
  }

  async store(org: string, rows: NewRow[], op: Deno.AtomicOperation): Promise<number[]> {
    const ids = await this.#ids.take(org, rows.length);
    const created = new Date(this.#now()).toISOString();
    rows.forEach(({ hash: _hash, ...r }, i) => {
      const row: Row = { id: ids[i], org, created_at: created, ...r };
      op.set(["row", org, ids[i]], row);
      op.set(["row_type", org, r.task_type, ids[i]], r.task_id);
    });
    return ids;
  }

  async get(org: string, id: number): Promise<Row | null> {
    return (await this.#kv.get<Row>(["row", org, id])).value;
  }

  async list(
    org: string,
    { type, cursor, limit = 50 }: { type?: TaskType; cursor?: string; limit?: number } = {},
  ): Promise<RowPage> {
    if (type && !TASK_TYPES.includes(type)) return { items: [] };
    const before = cursor ? Number(cursor) : undefined;
    const prefix = type ? ["row_type", org, type] : ["row", org];
    const selector: Deno.KvListSelector = before !== undefined && Number.isFinite(before)
      ? { prefix, end: [...prefix, before] }
      : { prefix };
    const ids: number[] = [];
    const rows: Row[] = [];
    for await (const e of this.#kv.list<Row | number>(selector, { reverse: true, limit: limit + 1 })) {
      ids.push(e.key[e.key.length - 1] as number);
      if (!type) rows.push(e.value as Row);
    }
    const page = ids.slice(0, limit);
    let items: Row[] = rows.slice(0, limit);
    if (type) {
      items = [];
      for (let i = 0; i < page.length; i += 10) {
        const got = await this.#kv.getMany<Row[]>(page.slice(i, i + 10).map((id) => ["row", org, id]));
        for (const g of got) if (g.value) items.push(g.value);
      }
    }
    return { items, cursor: ids.length > limit ? String(page[page.length - 1]) : undefined };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
