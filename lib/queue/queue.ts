/**
 * The typed layer over the Deno KV queue. Every message is an envelope
 * `{ v: 1, kind, org, id, payload }`; each kind has a zod schema and one
 * handler. Failures are retried on the queue's own `backoffSchedule`; when the
 * attempts are used up, or the error is terminal, or the message does not
 * validate, the message goes to the dead-letter list with its reason, where the
 * API and the admin page can re-drive or discard it.
 */
import { z } from "zod";
import { isRetryableJobError } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { formatZodError } from "../validation.ts";
import { fromCursor } from "../kv/cursor.ts";
import { countPending, markPending, settlePending } from "./depth.ts";

export const envelopeSchema = z.object({
  v: z.literal(1),
  kind: z.string().min(1),
  org: z.string().min(1),
  id: z.string().min(1),
  payload: z.unknown(),
  /** Set on our own re-enqueues; absent (0) on the first delivery and after a re-drive. */
  attempt: z.number().int().min(0).optional(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export interface JobContext {
  kv: Deno.Kv;
  envelope: Envelope;
  org: string;
  /** The envelope id: stable across redeliveries and re-drives, a natural dedupe key. */
  id: string;
  /** 0 on the first delivery. */
  attempt: number;
  log: Logger;
  /** True when this is the last attempt before the message is dead-lettered. */
  lastAttempt: boolean;
}

// deno-lint-ignore no-explicit-any
export interface JobDefinition<S extends z.ZodType = any> {
  kind: string;
  payload: S;
  handle(payload: z.infer<S>, ctx: JobContext): Promise<void>;
  /** Waits between attempts (ms); attempts = length + 1. Default: the queue's. */
  backoffMs?: number[];
  /**
   * True when an organization may schedule this kind as a scheduler internal
   * action (its payload acts only on that organization's own data). Default
   * false: bridge and operator kinds (`task.amqp`, `task.result`, …) never are.
   */
  schedulable?: boolean;
  /** Called once when the message is dead-lettered, e.g. to publish a `*.failed` event. */
  onDeadLetter?(payload: z.infer<S> | undefined, ctx: JobContext, reason: string): Promise<void>;
}

/** Declares a job with its payload type inferred from the schema. */
export function defineJob<S extends z.ZodType>(def: JobDefinition<S>): JobDefinition<S> {
  return def;
}

export interface DeadLetter {
  id: string;
  org: string;
  kind: string;
  reason: string;
  attempts: number;
  failedAt: string;
  envelope: unknown;
}

export interface EnqueueOptions {
  delayMs?: number;
  /** A fixed id makes the envelope recognisable across producers (e.g. for dedupe). */
  id?: string;
  /** Internal: the attempt a retry carries. */
  attempt?: number;
}

const DEAD_TTL = 30 * 24 * 60 * 60 * 1000;
/** Deno KV allows at most 1000 mutations per atomic operation; stay well inside. */
const ENQUEUE_CHUNK = 200;

export interface QueueOptions {
  log: Logger;
  metrics: Metrics;
  /** Default waits between attempts (ms). */
  backoffMs?: number[];
  now?: () => number;
}

/** The queue: register handlers, enqueue, listen, and manage dead letters. */
export class Queue {
  readonly #kv: Deno.Kv;
  readonly #jobs = new Map<string, JobDefinition>();
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #backoffMs: number[];
  readonly #now: () => number;
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #stopping = false;

  constructor(
    kv: Deno.Kv,
    { log, metrics, backoffMs = [1000, 5000, 30_000, 60_000, 300_000], now = Date.now }: QueueOptions,
  ) {
    this.#kv = kv;
    this.#log = log;
    this.#metrics = metrics;
    this.#backoffMs = backoffMs;
    this.#now = now;
    metrics.describe("shlyuz_queue_handled_total", "Queue messages handled, by kind and outcome");
    metrics.describe("shlyuz_queue_handler_seconds", "Queue handler latency, by kind");
  }

  /** Registers the handler of one message kind. Registering a kind twice is a programmer error. */
  register(def: JobDefinition): void {
    if (this.#jobs.has(def.kind)) throw new Error(`Cannot register job ${def.kind}: already registered`);
    this.#jobs.set(def.kind, def);
  }

  /** Kinds with a handler, e.g. for validating scheduler actions. */
  kinds(): string[] {
    return [...this.#jobs.keys()].sort();
  }

  /** Kinds an organization may schedule (each declares it with `schedulable: true`), sorted. */
  schedulableKinds(): string[] {
    return [...this.#jobs.values()].filter((d) => d.schedulable === true).map((d) => d.kind).sort();
  }

  /** The payload schema of a schedulable kind as JSON Schema (shown in the schedule form), or null. */
  schedulablePayloadSchema(kind: string): Record<string, unknown> | null {
    const def = this.#jobs.get(kind);
    if (!def || def.schedulable !== true) return null;
    return z.toJSONSchema(def.payload, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  }

  has(kind: string): boolean {
    return this.#jobs.has(kind);
  }

  /** Validates a payload against its kind's schema without enqueuing it. */
  validate(kind: string, payload: unknown): { ok: true } | { ok: false; reason: string } {
    const def = this.#jobs.get(kind);
    if (!def) return { ok: false, reason: `no handler for kind ${kind}` };
    const parsed = def.payload.safeParse(payload);
    return parsed.success ? { ok: true } : { ok: false, reason: formatZodError(parsed.error) };
  }

  /** Builds the envelope and adds the enqueue to an atomic operation (so it commits with other writes). */
  addTo(op: Deno.AtomicOperation, kind: string, org: string, payload: unknown, opts: EnqueueOptions = {}): Envelope {
    const envelope: Envelope = { v: 1, kind, org, id: opts.id ?? newId(), payload };
    if (opts.attempt) envelope.attempt = opts.attempt;
    const def = this.#jobs.get(kind);
    op.enqueue(envelope, {
      delay: opts.delayMs && opts.delayMs > 0 ? Math.round(opts.delayMs) : undefined,
      // KV's own schedule (the crash safety net) takes at most 5 waits; our re-enqueue uses them all.
      backoffSchedule: (def?.backoffMs ?? this.#backoffMs).slice(0, 5),
      keysIfUndelivered: [["dead", org, envelope.id]],
    });
    op.sum(["qstat", "enqueued"], 1n);
    markPending(op, kind, envelope.id, envelope.attempt);
    return envelope;
  }

  /** Enqueues one message; returns its envelope id. */
  async enqueue(kind: string, org: string, payload: unknown, opts: EnqueueOptions = {}): Promise<string> {
    const op = this.#kv.atomic();
    const env = this.addTo(op, kind, org, payload, opts);
    const res = await op.commit();
    if (!res.ok) throw new Error(`Cannot enqueue ${kind}: the KV commit was rejected`);
    this.#metrics.inc("shlyuz_queue_enqueued_total", { kind });
    return env.id;
  }

  /** Enqueues many messages in few atomic commits. */
  async enqueueMany(
    items: Array<{ kind: string; org: string; payload: unknown; opts?: EnqueueOptions }>,
  ): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < items.length; i += ENQUEUE_CHUNK) {
      const op = this.#kv.atomic();
      for (const it of items.slice(i, i + ENQUEUE_CHUNK)) {
        ids.push(this.addTo(op, it.kind, it.org, it.payload, it.opts).id);
        this.#metrics.inc("shlyuz_queue_enqueued_total", { kind: it.kind });
      }
      const res = await op.commit();
      if (!res.ok) throw new Error("Cannot enqueue messages: the KV commit was rejected");
    }
    return ids;
  }

  /** Starts the KV queue listener. Resolves when the KV handle closes. */
  listen(): Promise<void> {
    return this.#kv.listenQueue((raw) => this.handle(raw));
  }

  /** Handles one raw queue value. Exposed so tests can drive delivery directly. */
  async handle(raw: unknown): Promise<void> {
    if (this.#stopping) {
      // The KV handle is about to close: leave the message on the queue (a
      // durable KV delivers it again after the restart) rather than start work
      // that cannot finish.
      throw new Error("Cannot handle messages: the queue is stopping");
    }
    this.#inFlight++;
    const started = performance.now();
    const delivery = raw as Partial<Envelope> | null;
    const seen = { kind: "unknown" };
    try {
      await this.#deliver(raw, seen);
      // This delivery is settled (done, re-enqueued as its next attempt, or dead-lettered): its marker goes.
      // A delivery that threw keeps it: the KV queue delivers the message again.
      if (typeof delivery?.id === "string") {
        await settlePending(this.#kv, delivery.id, typeof delivery.attempt === "number" ? delivery.attempt : 0);
      }
    } finally {
      this.#metrics.observe("shlyuz_queue_handler_seconds", (performance.now() - started) / 1000, { kind: seen.kind });
      this.#inFlight--;
      if (this.#inFlight === 0) { for (const fn of this.#idle.splice(0)) fn(); }
    }
  }

  async #deliver(raw: unknown, seen: { kind: string }): Promise<void> {
    const env = envelopeSchema.safeParse(raw);
    if (!env.success) {
      const r = raw as Partial<Envelope> | null;
      await this.deadLetterEnvelope(
        {
          v: 1,
          kind: String(r?.kind ?? "unknown"),
          org: String(r?.org ?? "unknown"),
          id: String(r?.id ?? newId()),
          payload: r,
        },
        `invalid message: ${formatZodError(env.error)}`,
        0,
      );
      return;
    }
    const envelope = env.data;
    seen.kind = envelope.kind;
    const kind = envelope.kind;
    const def = this.#jobs.get(kind);
    if (!def) {
      await this.deadLetterEnvelope(envelope, `invalid message: no handler for kind ${kind}`, 0);
      return;
    }
    // The attempt travels in the envelope: no KV read on the hot path. A redelivery after a
    // crash repeats the attempt it crashed in, which is what it is.
    const attempt = envelope.attempt ?? 0;
    const maxAttempts = (def.backoffMs ?? this.#backoffMs).length + 1;
    const ctx: JobContext = {
      kv: this.#kv,
      envelope,
      org: envelope.org,
      id: envelope.id,
      attempt,
      lastAttempt: attempt + 1 >= maxAttempts,
      log: this.#log.child(kind),
    };
    const payload = def.payload.safeParse(envelope.payload);
    if (!payload.success) {
      const reason = `invalid message: ${formatZodError(payload.error)}`;
      await this.deadLetterEnvelope(envelope, reason, attempt);
      await this.#safeOnDead(def, undefined, ctx, reason);
      return;
    }
    try {
      await def.handle(payload.data, ctx);
      this.#metrics.inc("shlyuz_queue_handled_total", { kind, outcome: "ok" });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (isRetryableJobError(error) && !ctx.lastAttempt) {
        // Re-enqueue the same envelope with the next wait and its attempt number.
        // (Throwing would also retry, on the queue's own backoffSchedule, but keeps no
        // count and prints the error to stderr; that path stays as the safety net for a
        // crash mid-handler.)
        const waits = def.backoffMs ?? this.#backoffMs;
        const op = this.#kv.atomic();
        this.addTo(op, envelope.kind, envelope.org, envelope.payload, {
          id: envelope.id,
          delayMs: waits[attempt],
          attempt: attempt + 1,
        });
        const res = await op.commit();
        if (!res.ok) throw error;
        this.#metrics.inc("shlyuz_queue_handled_total", { kind, outcome: "retry" });
        ctx.log.warn("job failed, will retry", { id: envelope.id, org: envelope.org, attempt, reason });
        return;
      }
      this.#metrics.inc("shlyuz_queue_handled_total", { kind, outcome: "dead" });
      await this.deadLetterEnvelope(envelope, reason, attempt + 1);
      await this.#safeOnDead(def, payload.data, ctx, reason);
    }
  }

  async #safeOnDead(def: JobDefinition, payload: unknown, ctx: JobContext, reason: string) {
    if (!def.onDeadLetter) return;
    try {
      await def.onDeadLetter(payload, ctx, reason);
    } catch (error) {
      ctx.log.error("onDeadLetter failed", { id: ctx.id, error });
    }
  }

  /**
   * Dead-letters a message now (its own commit): listed, re-drivable, counted in `qstat` and
   * `shlyuz_dead_letters_total`. For a message that is not on the queue, e.g. one task of a batch.
   */
  async deadLetterEnvelope(envelope: Envelope, reason: string, attempts: number): Promise<void> {
    const op = this.#kv.atomic();
    const committed = this.addDeadLettersTo(op, [{ envelope, reason, attempts }]);
    if (!(await op.commit()).ok) throw new Error(`Cannot dead-letter ${envelope.kind}: the KV commit was rejected`);
    committed();
  }

  /**
   * Adds dead letters to an atomic operation, so they commit together with other writes (3 mutations
   * each, plus one). Call the returned function once the commit succeeded: it counts and logs them.
   */
  addDeadLettersTo(
    op: Deno.AtomicOperation,
    items: Array<{ envelope: Envelope; reason: string; attempts: number }>,
  ): () => void {
    const failedAt = new Date(this.#now()).toISOString();
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
      op.set(["dead", envelope.org, envelope.id], record, { expireIn: DEAD_TTL });
    }
    if (items.length) op.sum(["qstat", "dead"], BigInt(items.length));
    return () => {
      for (const { envelope, reason } of items) {
        this.#metrics.inc("shlyuz_dead_letters_total", { kind: envelope.kind });
        this.#log.warn("message dead-lettered", { kind: envelope.kind, id: envelope.id, org: envelope.org, reason });
      }
    };
  }

  /** Messages on the queue now, delayed retries included (counted from KV, so true after a crash). */
  backlog(): Promise<number> {
    return countPending(this.#kv);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Refuses new deliveries and resolves when running handlers are done (orderly shutdown). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.idle();
  }

  /** Resolves when no handler is running (for orderly shutdown and tests). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  /** Dead letters of one organization, newest first. */
  async deadLetters(
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
      const dl = toDeadLetter(entry.key, entry.value);
      if (kind && dl.kind !== kind) continue;
      items.push(dl);
      if (items.length >= limit) return { items, cursor: iter.cursor };
    }
    return { items };
  }

  async deadLetter(org: string, id: string): Promise<DeadLetter | null> {
    const entry = await this.#kv.get(["dead", org, id]);
    return entry.versionstamp ? toDeadLetter(entry.key, entry.value) : null;
  }

  /** Puts a dead letter back on the queue with a fresh attempt count. Returns false when it does not exist. */
  async redrive(org: string, id: string): Promise<boolean> {
    const entry = await this.#kv.get(["dead", org, id]);
    if (!entry.versionstamp) return false;
    const dl = toDeadLetter(entry.key, entry.value);
    const env = envelopeSchema.safeParse(dl.envelope);
    if (!env.success) return false;
    const op = this.#kv.atomic().check(entry).delete(entry.key);
    this.addTo(op, env.data.kind, org, env.data.payload, { id: env.data.id });
    const res = await op.commit();
    return res.ok;
  }

  async discard(org: string, id: string): Promise<boolean> {
    const entry = await this.#kv.get(["dead", org, id]);
    if (!entry.versionstamp) return false;
    await this.#kv.atomic().check(entry).delete(entry.key).commit();
    return true;
  }
}

/** A value under `["dead", …]` is either our record or a raw envelope that the KV queue gave up on. */
function toDeadLetter(key: Deno.KvKey, value: unknown): DeadLetter {
  const v = value as Partial<DeadLetter> & Partial<Envelope>;
  if (v && typeof v === "object" && "reason" in v && "envelope" in v) return v as DeadLetter;
  return {
    id: String(key[2]),
    org: String(key[1]),
    kind: String(v?.kind ?? "unknown"),
    reason: "undelivered: the queue gave up after its retries (the handler kept crashing)",
    attempts: 0,
    failedAt: "",
    envelope: value,
  };
}
