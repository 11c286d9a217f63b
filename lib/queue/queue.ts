/**
 * The typed layer over the Deno KV queue. Every message is an envelope
 * `{ v: 1, kind, org, id, payload }`: a discriminated union on `kind`, each kind
 * declared once with its payload schema (lib/queue/kind.ts) and handled by one
 * job. `enqueue(kind, payload, { org })` is typed by kind and checks the
 * payload at run time too. Failures are retried on the queue's own
 * `backoffSchedule`; when the attempts are used up, or the error is terminal,
 * or the message does not validate, the message goes to the dead-letter list
 * (lib/queue/dead_letters.ts) with its reason.
 *
 * The queue does not make handlers idempotent by itself: KV delivers at least
 * once, so each handler writes its effect in one `kv.atomic()` with a check of
 * what it claimed (see the README's "Idempotency").
 */
import type { EventBus } from "../events/bus.ts";
import { z } from "zod";
import { isRetryableJobError } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { formatZodError } from "../validation.ts";
import { deadKey, type DeadLetterItem, DeadLetterStore } from "./dead_letters.ts";
import { countPending, markPending, settlePending } from "./depth.ts";
import {
  type AnyKinds,
  type EnqueueOptions,
  type Envelope,
  envelopeBaseSchema,
  envelopeSchemaOf,
  type MessageKind,
  type OutgoingMessage,
  type PayloadIn,
} from "./kind.ts";

export type { DeadLetter } from "./dead_letters.ts";
export type { EnqueueOptions, Envelope, MessageKind, OutgoingMessage } from "./kind.ts";
export { defineKind } from "./kind.ts";

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

/** The handler of one kind. */
export interface JobDefinition<D extends MessageKind = MessageKind> {
  kind: D;
  handle(payload: z.output<D["payload"]>, ctx: JobContext): Promise<void>;
  /** Called once when the message is dead-lettered, e.g. to publish a `*.failed` event. */
  onDeadLetter?(payload: z.output<D["payload"]> | undefined, ctx: JobContext, reason: string): Promise<void>;
}

/** Declares the job of a kind, with the payload type inferred from the kind's schema. */
export function defineJob<D extends MessageKind>(
  kind: D,
  handlers: Omit<JobDefinition<D>, "kind">,
): JobDefinition<D> {
  return { kind, ...handlers };
}

/** A payload or kind a producer got wrong (a programmer error, or a tenant's scheduled action). */
export class InvalidMessageError extends Error {
  override name = "InvalidMessageError";
  constructor(readonly kind: string, readonly reason: string) {
    super(`Cannot enqueue ${kind}: ${reason}`);
  }
}

/**
 * The queue as producers and services see it, typed by the kinds they send. The hub's queue (every
 * capability's kinds) fits `QueueFor<TheirKinds>`; a class type would not (TypeScript measures the
 * class's kind parameter as invariant), which is why services take this instead of `Queue<…>`.
 */
export type QueueFor<M extends AnyKinds> = Omit<Queue<M>, "declare" | "register" | "listen" | "handle" | "stop">;

/** Deno KV allows at most 1000 mutations per atomic operation; stay well inside. */
const ENQUEUE_CHUNK = 200;

export interface QueueOptions {
  log: Logger;
  metrics: Metrics;
  /** The kinds this queue carries (their jobs are registered later). */
  kinds?: Iterable<MessageKind>;
  /** Default waits between attempts (ms). */
  backoffMs?: number[];
  now?: () => number;
  /** The event bus `queue.dead_lettered` goes to (the hub's; a queue without one announces nothing). */
  events?: Pick<EventBus, "stage">;
}

/**
 * The queue: declare kinds, register their jobs, enqueue, listen. `M` maps each kind to its payload
 * schema; the hub's queue is `Queue<AppKinds>` (lib/capabilities.ts), a queue built without it takes
 * any kind (the queue's own tests).
 */
export class Queue<M extends AnyKinds = AnyKinds> {
  /** The dead-letter list (list, inspect, re-drive, discard). */
  readonly dead: DeadLetterStore;
  readonly #kv: Deno.Kv;
  readonly #kinds = new Map<string, MessageKind>();
  readonly #jobs = new Map<string, JobDefinition>();
  #envelope: z.ZodType | null = null;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #backoffMs: number[];
  readonly #now: () => number;
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #stopping = false;

  constructor(
    kv: Deno.Kv,
    { log, metrics, kinds = [], backoffMs = [1000, 5000, 30_000, 60_000, 300_000], now = Date.now, events }:
      QueueOptions,
  ) {
    this.#kv = kv;
    this.#log = log;
    this.#metrics = metrics;
    this.#backoffMs = backoffMs;
    this.#now = now;
    for (const k of kinds) this.declare(k);
    this.dead = new DeadLetterStore(kv, {
      log,
      metrics,
      now,
      requeue: (op, envelope) => this.#stage(op, envelope),
      events,
    });
    metrics.describe("shlyuz_queue_handled_total", "Queue messages handled, by kind and outcome");
    metrics.describe("shlyuz_queue_handler_seconds", "Queue handler latency, by kind");
  }

  /** Declares a kind the queue carries. Declaring another kind under a taken name is a programmer error. */
  declare(kind: MessageKind): void {
    const known = this.#kinds.get(kind.kind);
    if (known === kind) return;
    if (known) throw new Error(`Cannot declare message kind ${kind.kind}: another kind has this name`);
    this.#kinds.set(kind.kind, kind);
    this.#envelope = null;
  }

  /** Registers the job of one kind (declaring the kind if needed). Registering a kind twice is a programmer error. */
  register(job: JobDefinition): void {
    const name = job.kind.kind;
    if (this.#jobs.has(name)) throw new Error(`Cannot register job ${name}: already registered`);
    this.declare(job.kind);
    this.#jobs.set(name, job);
  }

  /** Kinds with a handler, sorted. */
  kinds(): string[] {
    return [...this.#jobs.keys()].sort();
  }

  /** Kinds an organization may schedule (each declares it with `schedulable: true`), sorted. */
  schedulableKinds(): string[] {
    return [...this.#jobs.values()].filter((j) => j.kind.schedulable).map((j) => j.kind.kind).sort();
  }

  /** The payload schema of a schedulable kind as JSON Schema (shown in the schedule form), or null. */
  schedulablePayloadSchema(kind: string): Record<string, unknown> | null {
    const def = this.#jobs.get(kind)?.kind;
    if (!def?.schedulable) return null;
    return z.toJSONSchema(def.payload, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  }

  has(kind: string): boolean {
    return this.#jobs.has(kind);
  }

  /** The envelope schema: a discriminated union on `kind` of every declared kind. */
  envelopeSchema(): z.ZodType {
    return this.#envelope ??= envelopeSchemaOf(this.#kinds.values());
  }

  /** Validates a payload against its kind's schema without enqueuing it. */
  validate(kind: string, payload: unknown): { ok: true } | { ok: false; reason: string } {
    if (!this.#jobs.has(kind)) return { ok: false, reason: `no handler for kind ${kind}` };
    const parsed = this.#kinds.get(kind)!.payload.safeParse(payload);
    return parsed.success ? { ok: true } : { ok: false, reason: formatZodError(parsed.error) };
  }

  /** Enqueues one message; returns its envelope id. Throws InvalidMessageError on a payload its kind refuses. */
  async enqueue<K extends keyof M & string>(kind: K, payload: PayloadIn<M, K>, opts: EnqueueOptions): Promise<string> {
    const op = this.#kv.atomic();
    const env = this.stage(op, { kind, payload, ...opts } as OutgoingMessage<M>);
    const res = await op.commit();
    if (!res.ok) throw new Error(`Cannot enqueue ${kind}: the KV commit was rejected`);
    this.#metrics.inc("shlyuz_queue_enqueued_total", { kind });
    return env.id;
  }

  /**
   * Enqueues a message whose kind an organization chose (a scheduler internal action): the kind
   * must be schedulable and have a handler, and the payload must fit it, or InvalidMessageError
   * says why. Checked again at every fire, not only when the schedule was saved: a stored
   * schedule may be older than a change of its kind.
   */
  enqueueDynamic(kind: string, payload: unknown, opts: EnqueueOptions): Promise<string> {
    if (this.#jobs.has(kind) && !this.#kinds.get(kind)?.schedulable) {
      return Promise.reject(new InvalidMessageError(kind, `${kind} is not a job organizations may schedule`));
    }
    const valid = this.validate(kind, payload);
    if (!valid.ok) return Promise.reject(new InvalidMessageError(kind, valid.reason));
    return this.enqueue(kind as keyof M & string, payload as PayloadIn<M, keyof M & string>, opts);
  }

  /**
   * Adds one message to an atomic operation, so it commits with the caller's other writes; returns
   * its envelope. The payload is checked against its kind now, not when the commit lands.
   */
  stage(op: Deno.AtomicOperation, message: OutgoingMessage<M>): Envelope {
    return this.#stage(op, this.envelope(message), message.delayMs);
  }

  /**
   * Builds the envelope of a message without enqueuing it (e.g. to dead-letter one task of a
   * batch as a re-drivable message of its own). Throws InvalidMessageError like `enqueue`.
   */
  envelope(message: OutgoingMessage<M>): Envelope {
    const { kind, payload, org, id } = message;
    const def = this.#kinds.get(kind);
    if (!def) throw new InvalidMessageError(kind, `no message kind ${kind} is declared`);
    const parsed = def.payload.safeParse(payload);
    if (!parsed.success) throw new InvalidMessageError(kind, formatZodError(parsed.error));
    return { v: 1, kind, org, id: id ?? newId(), payload };
  }

  /** Enqueues many messages in few atomic commits. */
  async enqueueMany(messages: Array<OutgoingMessage<M>>): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < messages.length; i += ENQUEUE_CHUNK) {
      const op = this.#kv.atomic();
      for (const m of messages.slice(i, i + ENQUEUE_CHUNK)) {
        ids.push(this.stage(op, m).id);
        this.#metrics.inc("shlyuz_queue_enqueued_total", { kind: m.kind });
      }
      const res = await op.commit();
      if (!res.ok) throw new Error("Cannot enqueue messages: the KV commit was rejected");
    }
    return ids;
  }

  /** Puts an envelope on the queue as it is (retries, re-drives): no payload check. */
  #stage(op: Deno.AtomicOperation, envelope: Envelope, delayMs?: number): Envelope {
    const backoff = this.#kinds.get(envelope.kind)?.backoffMs ?? this.#backoffMs;
    op.enqueue(envelope, {
      delay: delayMs && delayMs > 0 ? Math.round(delayMs) : undefined,
      // KV's own schedule (the crash safety net) takes at most 5 waits; our re-enqueue uses them all.
      backoffSchedule: backoff.slice(0, 5),
      keysIfUndelivered: [deadKey(envelope.org, envelope.id)],
    });
    op.sum(["qstat", "enqueued"], 1n);
    markPending(op, envelope.kind, envelope.id, envelope.attempt);
    return envelope;
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
    const base = envelopeBaseSchema.safeParse(raw);
    if (!base.success) {
      const r = raw as Partial<Envelope> | null;
      await this.dead.file({
        envelope: {
          kind: String(r?.kind ?? "unknown"),
          org: String(r?.org ?? "unknown"),
          id: String(r?.id ?? newId()),
        },
        reason: `invalid message: ${formatZodError(base.error)}`,
        attempts: 0,
      });
      return;
    }
    const envelope = base.data as Envelope;
    seen.kind = envelope.kind;
    const kind = envelope.kind;
    const job = this.#jobs.get(kind);
    if (!job) {
      const reason = this.#kinds.has(kind)
        ? `invalid message: no handler for kind ${kind}`
        : `invalid message: unknown kind ${kind}`;
      await this.#deadLetter(envelope, reason, 0);
      return;
    }
    // The attempt travels in the envelope: no KV read on the hot path. A redelivery after a
    // crash repeats the attempt it crashed in, which is what it is.
    const attempt = envelope.attempt ?? 0;
    const waits = job.kind.backoffMs ?? this.#backoffMs;
    const ctx: JobContext = {
      kv: this.#kv,
      envelope,
      org: envelope.org,
      id: envelope.id,
      attempt,
      lastAttempt: attempt + 1 >= waits.length + 1,
      log: this.#log.child(kind),
    };
    // The envelope's discriminated union picks the branch of this kind; its issues are the payload's.
    const parsed = this.envelopeSchema().safeParse(raw);
    if (!parsed.success) {
      const reason = `invalid message: ${formatZodError(payloadIssues(parsed.error))}`;
      await this.#deadLetter(envelope, reason, attempt);
      await this.#safeOnDead(job, undefined, ctx, reason);
      return;
    }
    const payload = (parsed.data as Envelope).payload;
    try {
      await job.handle(payload, ctx);
      this.#metrics.inc("shlyuz_queue_handled_total", { kind, outcome: "ok" });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (isRetryableJobError(error) && !ctx.lastAttempt) {
        // Re-enqueue the same envelope with the next wait and its attempt number.
        // (Throwing would also retry, on the queue's own backoffSchedule, but keeps no
        // count and prints the error to stderr; that path stays as the safety net for a
        // crash mid-handler.)
        const op = this.#kv.atomic();
        this.#stage(op, { ...envelope, attempt: attempt + 1 }, waits[attempt]);
        const res = await op.commit();
        if (!res.ok) throw error;
        this.#metrics.inc("shlyuz_queue_handled_total", { kind, outcome: "retry" });
        ctx.log.warn("job failed, will retry", { id: envelope.id, org: envelope.org, attempt, reason });
        return;
      }
      this.#metrics.inc("shlyuz_queue_handled_total", { kind, outcome: "dead" });
      await this.#deadLetter(envelope, reason, attempt + 1);
      await this.#safeOnDead(job, payload, ctx, reason);
    }
  }

  /** The record keeps the envelope as it came (without our attempt counter), so a re-drive starts afresh. */
  #deadLetter(envelope: Envelope, reason: string, attempts: number): Promise<void> {
    const { attempt: _attempt, ...rest } = envelope;
    return this.dead.file({ envelope: rest as DeadLetterItem["envelope"], reason, attempts });
  }

  async #safeOnDead(job: JobDefinition, payload: unknown, ctx: JobContext, reason: string) {
    if (!job.onDeadLetter) return;
    try {
      await job.onDeadLetter(payload, ctx, reason);
    } catch (error) {
      ctx.log.error("onDeadLetter failed", { id: ctx.id, error });
    }
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
}

/** The issues of a failed envelope parse with paths relative to the payload (`task_id`, not `payload.task_id`). */
function payloadIssues(error: z.ZodError): z.ZodError {
  const issues = error.issues.map((i) => i.path[0] === "payload" ? { ...i, path: i.path.slice(1) } : i);
  return { ...error, issues } as z.ZodError;
}
