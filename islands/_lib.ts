/**
 * Browser helpers shared by islands. Nothing here imports server code: the
 * event types come from a pure types module.
 */
import type { EventOf, EventType, HubEvent } from "../lib/events/types.ts";

/** The CSRF token the layout puts in `<meta name="csrf-token">`. */
export function csrfToken(): string {
  if (typeof document === "undefined") return "";
  return document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
}

export interface ApiResult<T = unknown> {
  ok: boolean;
  status: number;
  data: T;
  /** The API's error message, when not ok. */
  error?: string;
}

/** Calls the hub's JSON API with the session cookie and the CSRF header. */
export async function api<T = unknown>(
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<ApiResult<T>> {
  const res = await fetch(path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      "content-type": "application/json",
      "x-csrf-token": csrfToken(),
      accept: "application/json",
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: "same-origin",
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  const error = !res.ok
    ? ((data as { error?: { message?: string } })?.error?.message ?? `HTTP ${res.status}`)
    : undefined;
  return { ok: res.ok, status: res.status, data: data as T, error };
}

/** An event as the stream sends it (lib/events/types.ts: types only, nothing of the server is bundled). */
export type LiveEvent = HubEvent;
export type { EventOf, EventType, HubEvent };

/** One EventSource of a page, shared by every island that asks for the same types. */
interface SharedStream {
  source: EventSource;
  listeners: Set<(e: LiveEvent) => void>;
  states: Set<(open: boolean) => void>;
  open: boolean;
}

/**
 * Subscribes to the hub's event stream. EventSource reconnects by itself and
 * sends Last-Event-ID, so nothing is missed across short drops. Islands of one
 * page that ask for the same types share one connection (kept on globalThis,
 * since every island is a bundle of its own): a browser holds only six
 * connections per host, so a few tabs of a page with three live widgets would
 * otherwise starve. Returns a function that unsubscribes (and closes the
 * stream after its last subscriber).
 */
export function liveEvents(
  types: string[],
  onEvent: (e: LiveEvent) => void,
  onState?: (open: boolean) => void,
): () => void {
  // `plain=1` asks the hub to leave out the `event:` field, so one onmessage
  // handler sees every type (EventSource cannot listen to a wildcard).
  const url = `/api/v1/events?plain=1${types.length ? `&types=${encodeURIComponent(types.join(","))}` : ""}`;
  const streams = ((globalThis as { __shlyuzStreams?: Map<string, SharedStream> }).__shlyuzStreams ??= new Map());
  let stream = streams.get(url);
  if (!stream) {
    const created: SharedStream = {
      source: new EventSource(url),
      listeners: new Set(),
      states: new Set(),
      open: false,
    };
    created.source.onmessage = (m: MessageEvent) => {
      let event: LiveEvent;
      try {
        event = JSON.parse(m.data);
      } catch {
        return; // a malformed frame is ignored
      }
      for (const listener of created.listeners) {
        try {
          listener(event);
        } catch { /* one island's failure does not keep the event from the others */ }
      }
    };
    const setOpen = (open: boolean) => {
      created.open = open;
      for (const state of created.states) state(open);
    };
    created.source.onopen = () => setOpen(true);
    created.source.onerror = () => setOpen(false);
    streams.set(url, created);
    stream = created;
  }
  const shared = stream;
  shared.listeners.add(onEvent);
  if (onState) {
    shared.states.add(onState);
    if (shared.open) onState(true);
  }
  return () => {
    shared.listeners.delete(onEvent);
    if (onState) shared.states.delete(onState);
    if (shared.listeners.size === 0) {
      shared.source.close();
      streams.delete(url);
    }
  };
}

/** Formats an ISO time in a time zone, with the zone shown. */
export function formatTime(iso: string, timeZone?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  const text = d.toLocaleString("ru-RU", { timeZone, hour12: false });
  return timeZone ? `${text} (${timeZone})` : text;
}
