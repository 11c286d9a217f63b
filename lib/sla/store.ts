/**
 * SLA snapshots in KV: the latest snapshot of each filter per organization,
 * hourly trend points, and the breach/suspension marks that make
 * `sla.breached` fire once per ticket and breach.
 *
 * - `["sla_snap", org, filter]` → the pointer `{snapId, at, count, chunks, …}`;
 * - `["sla_snap_chunk", org, filter, snapId, i]` → UTF-8 bytes of the tickets'
 *   JSON, 60 000 bytes a chunk (KV values stay under 64 KiB), written before
 *   the pointer moves, the old ones deleted after; all expire after 7 days;
 * - `["sla_trend", org, hourIso]` → `{arrears, stopped, overdueMs}`, 90 days;
 * - `["sla_mark", org, "breach" | "suspended", ticketId]` → what was announced.
 */
import { type FilterKind, type Ticket, ticketSchema } from "./ticket.ts";
import { z } from "zod";

const CHUNK = 60_000;
const SNAP_TTL = 7 * 24 * 3600_000;
const TREND_TTL = 90 * 24 * 3600_000;
const MARK_TTL = 30 * 24 * 3600_000;

export interface SnapshotMeta {
  snapId: string;
  at: string;
  count: number;
  chunks: number;
  truncated: boolean;
  connectorId: string | null;
  jobId: string | null;
}

export interface TrendPoint {
  /** Start of the hour, ISO. */
  hour: string;
  arrears: number;
  stopped: number;
  /** Sum of overdue time of the arrears tickets at the last poll of the hour, ms. */
  overdueMs: number;
}

export interface Mark {
  /** The deadline (breach) or the suspension start the mark was made for. */
  basis: string | null;
  at: string;
  title: string;
}

export class SlaKvStore {
  readonly #kv: Deno.Kv;
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Replaces the filter's snapshot. */
  async saveSnapshot(
    org: string,
    filter: FilterKind,
    tickets: Ticket[],
    meta: Omit<SnapshotMeta, "count" | "chunks">,
  ): Promise<SnapshotMeta> {
    const bytes = new TextEncoder().encode(JSON.stringify(tickets));
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK));
    for (let i = 0; i < chunks; i += 10) {
      const op = this.#kv.atomic();
      for (let j = i; j < Math.min(chunks, i + 10); j++) {
        op.set(["sla_snap_chunk", org, filter, meta.snapId, j], bytes.slice(j * CHUNK, (j + 1) * CHUNK), {
          expireIn: SNAP_TTL,
        });
      }
      await op.commit();
    }
    const full: SnapshotMeta = { ...meta, count: tickets.length, chunks };
    const prev = await this.#kv.get<SnapshotMeta>(["sla_snap", org, filter]);
    await this.#kv.set(["sla_snap", org, filter], full, { expireIn: SNAP_TTL });
    if (prev.value && prev.value.snapId !== full.snapId) {
      const op = this.#kv.atomic();
      for (let j = 0; j < prev.value.chunks; j++) op.delete(["sla_snap_chunk", org, filter, prev.value.snapId, j]);
      await op.commit();
    }
    return full;
  }

  async snapshotMeta(org: string, filter: FilterKind): Promise<SnapshotMeta | null> {
    return (await this.#kv.get<SnapshotMeta>(["sla_snap", org, filter])).value;
  }

  /** The filter's latest tickets (empty before the first poll). */
  async snapshot(org: string, filter: FilterKind): Promise<{ meta: SnapshotMeta | null; tickets: Ticket[] }> {
    const meta = await this.snapshotMeta(org, filter);
    if (!meta) return { meta: null, tickets: [] };
    const parts: Uint8Array[] = [];
    for await (const e of this.#kv.list<Uint8Array>({ prefix: ["sla_snap_chunk", org, filter, meta.snapId] })) {
      parts[e.key[4] as number] = e.value;
    }
    if (parts.length !== meta.chunks || parts.some((p) => !p)) return { meta, tickets: [] };
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    const parsed = z.array(ticketSchema).safeParse(JSON.parse(new TextDecoder().decode(all)));
    return { meta, tickets: parsed.success ? parsed.data : [] };
  }

  /** Updates the hour's trend point with one filter's count. */
  async recordTrend(org: string, at: number, patch: Partial<Omit<TrendPoint, "hour">>): Promise<void> {
    const hour = new Date(Math.floor(at / 3600_000) * 3600_000).toISOString();
    const key = ["sla_trend", org, hour];
    for (let i = 0; i < 5; i++) {
      const entry = await this.#kv.get<TrendPoint>(key);
      const next: TrendPoint = { hour, arrears: 0, stopped: 0, overdueMs: 0, ...entry.value, ...patch };
      if ((await this.#kv.atomic().check(entry).set(key, next, { expireIn: TREND_TTL }).commit()).ok) return;
    }
  }

  /** Trend points of the last `days` days, oldest first. */
  async trends(
    org: string,
    { days = 14, now = Date.now() }: { days?: number; now?: number } = {},
  ): Promise<TrendPoint[]> {
    const start = new Date(now - days * 24 * 3600_000).toISOString();
    const out: TrendPoint[] = [];
    for await (
      const e of this.#kv.list<TrendPoint>({ start: ["sla_trend", org, start], end: ["sla_trend", org, "\uffff"] })
    ) {
      out.push(e.value);
    }
    return out;
  }

  async marks(org: string, kind: "breach" | "suspended"): Promise<Map<string, { mark: Mark; versionstamp: string }>> {
    const out = new Map<string, { mark: Mark; versionstamp: string }>();
    for await (const e of this.#kv.list<Mark>({ prefix: ["sla_mark", org, kind] })) {
      out.set(e.key[3] as string, { mark: e.value, versionstamp: e.versionstamp });
    }
    return out;
  }

  /** Sets a mark only if it is still as read (null: absent): true when this call made it, so one caller announces. */
  async claimMark(
    org: string,
    kind: "breach" | "suspended",
    ticketId: string,
    mark: Mark | null,
    expected: string | null,
  ): Promise<boolean> {
    const key = ["sla_mark", org, kind, ticketId];
    const op = this.#kv.atomic().check({ key, versionstamp: expected });
    if (mark) op.set(key, mark, { expireIn: MARK_TTL });
    else op.delete(key);
    return (await op.commit()).ok;
  }
}
