/**
 * Dead letters: messages that failed for good — invalid, terminal, or out of
 * attempts — kept under `["dead", org, id]` for 30 days with their reason, so
 * the API and the admin page can list, re-drive or discard them. A value KV's
 * own `keysIfUndelivered` wrote there (a handler that kept crashing) is a raw
 * envelope; it is listed the same way.
 */
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { fromCursor } from "../kv/cursor.ts";
import { type Envelope, envelopeBaseSchema } from "./kind.ts";
import { settlePending } from "./depth.ts";
import { DEAD_LETTER_EVENT_ITEMS, DEAD_LETTER_EVENT_REASON } from "./events.ts";
import type { EventBus } from "../events/bus.ts";

export interface DeadLetter {
  id: string;
  org: string;
  kind: string;
  reason: string;
  attempts: number;
  failedAt: string;
  envelope: unknown;
}

/** The envelope fields a dead letter is filed under (a message that never validated has only these). */
export type DeadEnvelope = Pick<Envelope, "id" | "org" | "kind">;

export interface DeadLetterItem {
  envelope: DeadEnvelope;
  reason: string;
  attempts: number;
}

const DEAD_TTL = 30 * 24 * 60 * 60 * 1000;

/** The key KV's queue writes an undelivered message to, and our records live under. */
export function deadKey(org: string, id: string): Deno.KvKey {
  return ["dead", org, id];
}

export interface DeadLetterStoreOptions {
  log: Logger;
  metrics: Metrics;
  now: () => number;
  /** Puts a re-driven envelope back on the queue inside the given atomic operation. */
  requeue(op: Deno.AtomicOperation, envelope: Envelope): void;
  /** Where `queue.dead_lettered` is staged, in the commit that files the dead letters (none: no event). */
  events?: Pick<EventBus, "stage">;
}

/** The dead-letter list of every organization. */
export class DeadLetterStore {
  readonly #kv: Deno.Kv;
  readonly #o: DeadLetterStoreOptions;

  constructor(kv: Deno.Kv, options: DeadLetterStoreOptions) {
    this.#kv = kv;
    this.#o = options;
  }

  /** Files one dead letter now (its own commit): listed, re-drivable, counted. */
  async file(item: DeadLetterItem): Promise<void> {
    const op = this.#kv.atomic();
    const committed = this.addTo(op, [item]);
    if (!(await op.commit()).ok) {
      throw new Error(`Cannot dead-letter ${item.envelope.kind}: the KV commit was rejected`);
    }
    committed();
  }

  /**
   * Adds dead letters to an atomic operation, so they commit together with other writes (one
   * mutation each, plus one). Call the returned function once the commit succeeded: it counts
   * and logs them.
   */
  addTo(op: Deno.AtomicOperation, items: DeadLetterItem[]): () => void {
    const failedAt = new Date(this.#o.now()).toISOString();
    for (const { envelope, reason, attempts } of items) {
      const record: DeadLetter = {
        id: envelope.id,
        org: envelope.org,
        kind: envelope.kind,
        reason,
        attempts,
        failedAt,
        envelope,
      };
      op.set(deadKey(envelope.org, envelope.id), record, { expireIn: DEAD_TTL });
    }
    if (items.length) op.sum(["qstat", "dead"], BigInt(items.length));
    const fanOut = this.#stageEvents(op, items);
    return () => {
      fanOut();
      for (const { envelope, reason } of items) {
        this.#o.metrics.inc("shlyuz_dead_letters_total", { kind: envelope.kind });
        this.#o.log.warn("message dead-lettered", { kind: envelope.kind, id: envelope.id, org: envelope.org, reason });
      }
    };
  }

  /** One `queue.dead_lettered` per organization among `items`, staged in `op`; answers the fan-out. */
  #stageEvents(op: Deno.AtomicOperation, items: DeadLetterItem[]): () => void {
    const events = this.#o.events;
    if (!events || !items.length) return () => {};
    const byOrg = Map.groupBy(items, (i) => i.envelope.org);
    const fans = [...byOrg].map(([org, mine]) =>
      events.stage(op, org, "queue.dead_lettered", {
        count: mine.length,
        kind: mine[0].envelope.kind,
        reason: mine[0].reason.slice(0, DEAD_LETTER_EVENT_REASON),
        items: mine.slice(0, DEAD_LETTER_EVENT_ITEMS).map(({ envelope, reason, attempts }) => ({
          id: envelope.id,
          kind: envelope.kind,
          reason: reason.slice(0, DEAD_LETTER_EVENT_REASON),
          attempts,
        })),
      })
    );
    return () => fans.forEach((fan) => fan());
  }

  /** Dead letters of one organization, newest first. */
  async list(
    org: string,
    { kind, limit = 100, cursor }: { kind?: string; limit?: number; cursor?: string } = {},
  ): Promise<{ items: DeadLetter[]; cursor?: string }> {
    const items: DeadLetter[] = [];
    const iter = this.#kv.list<unknown>({ prefix: ["dead", org] }, {
      reverse: true,
      cursor,
      limit: kind ? undefined : limit,
    });
    for await (const entry of fromCursor(iter, cursor)) {
      const dl = await this.#read(entry.key, entry.value);
      if (kind && dl.kind !== kind) continue;
      items.push(dl);
      if (items.length >= limit) return { items, cursor: iter.cursor };
    }
    return { items };
  }

  async get(org: string, id: string): Promise<DeadLetter | null> {
    const entry = await this.#kv.get(deadKey(org, id));
    return entry.versionstamp ? await this.#read(entry.key, entry.value) : null;
  }

  /**
   * A stored value as a dead letter. A raw envelope (the KV queue gave it up and wrote it here itself)
   * still has its queue-depth marker, which no handler will settle now: it is removed on the first
   * read, so the backlog gauge stops counting a message that is no longer on the queue.
   */
  async #read(key: Deno.KvKey, value: unknown): Promise<DeadLetter> {
    const { letter, rawEnvelope } = toDeadLetter(key, value);
    if (rawEnvelope) {
      const attempt = (value as Partial<Envelope> | null)?.attempt;
      await settlePending(this.#kv, letter.id, typeof attempt === "number" ? attempt : 0);
    }
    return letter;
  }

  /**
   * Puts a dead letter back on the queue with a fresh attempt count, in one commit with its
   * removal. False when it does not exist or never was a valid envelope.
   */
  async redrive(org: string, id: string): Promise<boolean> {
    const entry = await this.#kv.get(deadKey(org, id));
    if (!entry.versionstamp) return false;
    const env = envelopeBaseSchema.safeParse(toDeadLetter(entry.key, entry.value).letter.envelope);
    if (!env.success) return false;
    const op = this.#kv.atomic().check(entry).delete(entry.key);
    const { attempt: _fresh, ...envelope } = env.data;
    this.#o.requeue(op, { ...envelope, org } as Envelope);
    return (await op.commit()).ok;
  }

  async discard(org: string, id: string): Promise<boolean> {
    const entry = await this.#kv.get(deadKey(org, id));
    if (!entry.versionstamp) return false;
    await this.#kv.atomic().check(entry).delete(entry.key).commit();
    return true;
  }
}

/** A value under `["dead", …]` read back, and which of the two writers wrote it. */
export interface StoredDeadLetter {
  letter: DeadLetter;
  /** True when KV's queue wrote the bare envelope itself (`keysIfUndelivered`), false for a record this store filed. */
  rawEnvelope: boolean;
}

/** A value under `["dead", …]` is either our record or a raw envelope that the KV queue gave up on. */
export function toDeadLetter(key: Deno.KvKey, value: unknown): StoredDeadLetter {
  const v = value as Partial<DeadLetter> & Partial<Envelope>;
  if (v && typeof v === "object" && "reason" in v && "envelope" in v) {
    return { letter: v as DeadLetter, rawEnvelope: false };
  }
  return {
    letter: {
      id: String(key[2]),
      org: String(key[1]),
      kind: String(v?.kind ?? "unknown"),
      reason: "undelivered: the queue gave up after its retries (the handler kept crashing)",
      attempts: 0,
      failedAt: "",
      envelope: value,
    },
    rawEnvelope: true,
  };
}
