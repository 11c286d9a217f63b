/**
 * The event types as pure types, for islands and any code that must not pull
 * in server modules (only `import type` here: nothing reaches a bundle).
 */
import type { z } from "zod";
import type { Catalogue } from "./catalogue.ts";

type Declared = Exclude<keyof Catalogue & string, "custom.*">;

/** `custom.<name>`: events an organization publishes itself. */
export type CustomEventType = `custom.${string}`;

/** Every type `publish` accepts: the catalogue's, and `custom.*`. */
export type EventType = Declared | CustomEventType;

type DefinitionOf<T extends EventType> = T extends Declared ? Catalogue[T] : Catalogue["custom.*"];

/** What a publisher passes as `data` for type T. */
export type EventInput<T extends EventType> = z.input<DefinitionOf<T>["schema"]>;

/** The `data` of a published event of type T (the schema's output). */
export type EventData<T extends EventType> = z.output<DefinitionOf<T>["schema"]>;

/** One published event, as KV stores it and SSE sends it. */
export interface HubEvent<T extends string = string, D = Record<string, unknown>> {
  /** ULID: sortable, used as the SSE id and the resume point. */
  id: string;
  org: string;
  type: T;
  /** ISO time of publication. */
  at: string;
  data: D;
}

/** An event of one catalogue type, with its data typed. */
export type EventOf<T extends EventType> = HubEvent<T, EventData<T>>;

/** The publishing side of the bus, as a port: capabilities and their test fakes take this. */
export interface EventPublisher {
  publish<T extends EventType>(org: string, type: T, data: EventInput<T>): Promise<unknown>;
}

/** What an event stream yields (lib/events/stream.ts). */
export type StreamItem =
  /** The subscription is attached: everything published from now on will come. Always first. */
  | { kind: "open" }
  | { kind: "event"; event: HubEvent }
  /** Nothing happened for `heartbeatMs`: SSE writes a comment, WebSocket a ping. */
  | { kind: "heartbeat" };
