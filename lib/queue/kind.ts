/**
 * Message kinds: the name, the payload schema and the retry and scheduling
 * rules of one kind of queue message, declared once in the capability that
 * owns it (`lib/<capability>/kinds.ts`) and imported by its producers and its
 * job alike. A capability lists its kinds in its module (`kinds: [...]`), and
 * the hub's queue is typed by the union of every capability's kinds, so an
 * enqueue with a wrong payload is a type error — and, because payloads also
 * come from outside (scheduler actions, re-drives), a runtime error too.
 *
 * @example
 * ```ts
 * export const cacheRefresh = defineKind({
 *   kind: "bitrix.cache.refresh",
 *   payload: z.object({ force: z.boolean().optional() }),
 *   description: "Reloads the organization's Bitrix24 caches that expire soon",
 *   schedulable: true,
 * });
 * await hub.queue.enqueue("bitrix.cache.refresh", { force: true }, { org });
 * ```
 */
import { z } from "zod";

/** One kind of queue message. */
export interface MessageKind<K extends string = string, S extends z.ZodType = z.ZodType> {
  readonly kind: K;
  readonly payload: S;
  /** One sentence for people (dead-letter page, scheduler form). */
  readonly description: string;
  /**
   * True when an organization may schedule this kind as a scheduler internal
   * action (its payload acts only on that organization's own data). Bridge and
   * operator kinds (`task.amqp`, `task.result`, …) never are.
   */
  readonly schedulable: boolean;
  /** Waits between attempts (ms); attempts = length + 1. Default: the queue's. */
  readonly backoffMs?: readonly number[];
}

/** Declares a kind; the literal name and the payload type are kept for typing `enqueue`. */
export function defineKind<const K extends string, S extends z.ZodType>(
  def: { kind: K; payload: S; description: string; schedulable?: boolean; backoffMs?: readonly number[] },
): MessageKind<K, S> {
  return { schedulable: false, ...def };
}

/** Kind name → payload schema, for a list of kinds (the type the queue is parameterised by). */
export type KindMap<L extends readonly MessageKind[]> = { [D in L[number] as D["kind"]]: D["payload"] };

/** Any kind map: an untyped queue (tests of the queue itself) takes any kind and payload. */
export type AnyKinds = Record<string, z.ZodType>;

/** What a producer passes for `kind`: its payload as the schema's input (defaults may be left out). */
export type PayloadIn<M extends AnyKinds, K extends keyof M> = z.input<M[K]>;

/** Where and when a message goes; `org` is the organization it acts for. */
export interface EnqueueOptions {
  org: string;
  delayMs?: number;
  /** A fixed id makes the envelope recognisable across producers (e.g. for dedupe). */
  id?: string;
}

/** One message to enqueue, as a discriminated union on `kind` (for `stage` and `enqueueMany`). */
export type OutgoingMessage<M extends AnyKinds> = {
  [K in keyof M & string]: { kind: K; payload: PayloadIn<M, K> } & EnqueueOptions;
}[keyof M & string];

/** The envelope fields every message carries, whatever its kind. */
export const envelopeBaseSchema = z.object({
  v: z.literal(1),
  kind: z.string().min(1),
  org: z.string().min(1),
  id: z.string().min(1),
  payload: z.unknown(),
  /** Set on our own re-enqueues; absent (0) on the first delivery and after a re-drive. */
  attempt: z.number().int().min(0).optional(),
});

/** A message on the queue: `{ v: 1, kind, org, id, payload }`, with `payload` typed by `kind`. */
export type Envelope<M extends AnyKinds = AnyKinds> = {
  [K in keyof M & string]: Omit<z.infer<typeof envelopeBaseSchema>, "kind" | "payload"> & {
    kind: K;
    payload: z.output<M[K]>;
  };
}[keyof M & string];

/**
 * The envelope schema of a set of kinds: a zod discriminated union on `kind`,
 * each branch with its own payload schema.
 */
export function envelopeSchemaOf(kinds: Iterable<MessageKind>): z.ZodType {
  const branches = [...kinds].map((k) => envelopeBaseSchema.extend({ kind: z.literal(k.kind), payload: k.payload }));
  if (branches.length === 0) return z.never();
  // deno-lint-ignore no-explicit-any
  return z.discriminatedUnion("kind", branches as [any, ...any[]]);
}
