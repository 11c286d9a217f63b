/**
 * The KV sink: rows under `["row", org, id]`, a type index under
 * `["row_type", org, type, id]`. `store` reserves the ids and hands the
 * writes to the commit that marks the tasks done, whose checks on the task
 * keys make the insert safe under concurrency: a row is written only by
 * that commit, once.
 */
import { TASK_TYPES, type TaskType } from "../task_schema.ts";
import { IdAllocator } from "./id_allocator.ts";
import { chunkBySize, estimateBytes, GET_MANY_KEYS } from "../commit_size.ts";
import type { NewRow, Row, RowPage, RowSink, StoredRows } from "./types.ts";

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

  async store(org: string, rows: NewRow[]): Promise<StoredRows> {
    const ids = await this.#ids.take(org, rows.length);
    const created = new Date(this.#now()).toISOString();
    const writes: StoredRows["writes"] = [];
    rows.forEach(({ hash: _hash, ...r }, i) => {
      const row: Row = { id: ids[i], org, created_at: created, ...r };
      writes.push({ key: ["row", org, ids[i]], value: row }, {
        key: ["row_type", org, r.task_type, ids[i]],
        value: r.task_id,
      });
    });
    return { ids, writes };
  }

  commitBytes(row: Pick<NewRow, "source" | "data">): number {
    return estimateBytes(row);
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
      for (const ids of chunkBySize(page, () => 0, GET_MANY_KEYS)) {
        const got = await this.#kv.getMany<Row[]>(ids.map((id) => ["row", org, id]));
        for (const g of got) if (g.value) items.push(g.value);
      }
    }
    return { items, cursor: ids.length > limit ? String(page[page.length - 1]) : undefined };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
