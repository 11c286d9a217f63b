/**
 * One organization's events as an async iterator, for SSE and WebSocket pages
 * alike: it yields `open` once subscribed, then the stored events after
 * `afterId` (resume, like `Last-Event-ID`), then live events, with a
 * `heartbeat` whenever nothing happened for `heartbeatMs`.
 *
 * Back-pressure: live events wait in a bounded buffer until the consumer pulls
 * the next item. A consumer that falls `maxBuffer` events behind is not cut
 * off: the stream stops buffering and, once the consumer has caught up with
 * the buffer, reads what it missed from KV in pages, then goes live again.
 * Memory stays bounded and nothing within the retention is lost.
 *
 * Dedupe: an event is yielded once, by its id, among the last `SEEN_IDS` yielded —
 * not by "sorts after the last one yielded". Ids are made when an event is
 * built and fanned out after its commit, so two publishers (two enrichment
 * chunks, another isolate through the BroadcastChannel) can deliver a smaller
 * id after a larger one; a high-water mark would silently drop it. A catch-up
 * from KV after lagging therefore reads from `REORDER_GRACE_MS` before the
 * newest id yielded and skips what was seen. A resume from `afterId` (a new
 * stream: the client's `Last-Event-ID`) reads strictly after it.
 */
import { matchesType } from "./match.ts";
import type { HubEvent, StreamItem } from "./types.ts";
import { idFloor, idTime } from "../ids.ts";

/** How many yielded ids a stream remembers for dedupe (bounded memory). */
export const SEEN_IDS = 4096;
/** How far back a catch-up re-reads before the newest id yielded, for events committed out of id order. */
export const REORDER_GRACE_MS = 5_000;

/** What a stream reads from: the bus's live fan-out and its KV log. */
export interface StreamSource {
  subscribe(org: string, fn: (event: HubEvent) => void): () => void;
  since(org: string, options: { afterId?: string; types?: string[]; limit?: number }): Promise<HubEvent[]>;
}

export interface StreamOptions {
  /** Resume after this event id (exclusive); without it, only events from now on. */
  afterId?: string;
  /** Type filter: exact types or prefixes with a trailing `*`. */
  types?: string[];
  /** Ends the stream (client gone, shutdown). */
  signal?: AbortSignal;
  /** Idle time before a `heartbeat` item. Default 15 s. */
  heartbeatMs?: number;
  /** Live events held for a slow consumer before it catches up from KV instead. Default 1000. */
  maxBuffer?: number;
  /** Events read from KV at a time when resuming or catching up. Default 500. */
  pageSize?: number;
}

/** Streams `org`'s events; see the module doc. Ends when `signal` aborts or the consumer stops. */
export async function* streamEvents(
  source: StreamSource,
  org: string,
  { afterId, types, signal, heartbeatMs = 15_000, maxBuffer = 1000, pageSize = 500 }: StreamOptions = {},
): AsyncGenerator<StreamItem, void, undefined> {
  // At least one buffered event, so a lagging stream always has a last id to catch up from.
  maxBuffer = Math.max(1, maxBuffer);
  const buffer: HubEvent[] = [];
  let lagging = false;
  let wake: (() => void) | null = null;
  const unsubscribe = source.subscribe(org, (event) => {
    if (lagging || (types && !matchesType(event.type, types))) return;
    if (buffer.length >= maxBuffer) lagging = true;
    else buffer.push(event);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  // `floor`: a resume reads strictly after it. `newest`: the largest id yielded (catch-ups read from a little before it).
  const floor = afterId || undefined;
  let newest = floor;
  const seen = new Set<string>();
  const fresh = (e: HubEvent) => (!floor || e.id > floor) && !seen.has(e.id);
  const remember = (e: HubEvent) => {
    seen.add(e.id);
    if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value!);
    if (!newest || e.id > newest) newest = e.id;
  };
  /** Where a catch-up reads from: a resume's `afterId`, or a grace period before the newest id yielded. */
  const readFrom = (): string | undefined => {
    if (!newest || newest === floor) return floor;
    const t = idTime(newest);
    if (t === null) return newest;
    const back = idFloor(t - REORDER_GRACE_MS);
    return floor && floor > back ? floor : back;
  };

  /** Reads from KV until a short page; live events meanwhile are buffered and deduped. */
  async function* catchUp(): AsyncGenerator<StreamItem, void, undefined> {
    let cursor = readFrom();
    while (!signal?.aborted) {
      // Listen again before reading: whatever is published during the read is buffered (and KV has it too).
      buffer.length = 0;
      lagging = false;
      const page = await source.since(org, { afterId: cursor, types, limit: pageSize });
      for (const event of page) {
        if (signal?.aborted) return;
        cursor = event.id;
        if (!fresh(event)) continue;
        remember(event);
        yield { kind: "event", event };
      }
      if (page.length < pageSize) return;
    }
  }

  try {
    yield { kind: "open" };
    if (floor) yield* catchUp();
    while (!signal?.aborted) {
      const event = buffer.shift();
      if (event) {
        if (!fresh(event)) continue;
        remember(event);
        yield { kind: "event", event };
        continue;
      }
      if (lagging) {
        yield* catchUp();
        continue;
      }
      const timedOut = await idle(heartbeatMs, (fn) => wake = fn);
      wake = null;
      if (timedOut && !signal?.aborted) yield { kind: "heartbeat" };
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Waits until woken (false) or `ms` passed (true). */
function idle(ms: number, setWake: (fn: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    setWake(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
