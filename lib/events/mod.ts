/**
 * Events: the catalogue of every type the hub publishes, the bus that records
 * and fans them out, and the resumable stream SSE and WebSocket pages read.
 */
export { definitionOf, EventBus, type EventBusOptions, type EventListener } from "./bus.ts";
export { CATALOGUE, type Catalogue } from "./catalogue.ts";
export { defineEvent, type EventDefinition, type EventTitle } from "./define.ts";
export { CUSTOM_TYPE, isCustomType } from "./custom.ts";
export { describeCatalogue, type EventTypeInfo } from "./describe.ts";
export { matchesType } from "./match.ts";
export { streamEvents, type StreamOptions, type StreamSource } from "./stream.ts";
export type * from "./types.ts";
