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

/**
 * Subscribes to the hub's event stream. EventSource reconnects by itself and
 * sends Last-Event-ID, so nothing is missed across short drops. Returns a
 * function that closes the stream.
 */
export function liveEvents(
  types: string[],
  onEvent: (e: LiveEvent) => void,
  onState?: (open: boolean) => void,
): () => void {
  // `plain=1` asks the hub to leave out the `event:` field, so one onmessage
  // handler sees every type (EventSource cannot listen to a wildcard).
  const qs = `?plain=1${types.length ? `&types=${encodeURIComponent(types.join(","))}` : ""}`;
  const source = new EventSource(`/api/v1/events${qs}`);
  source.onmessage = (m: MessageEvent) => {
    try {
      onEvent(JSON.parse(m.data));
    } catch { /* a malformed frame is ignored */ }
  };
  source.onopen = () => onState?.(true);
  source.onerror = () => onState?.(false);
  return () => source.close();
}

/** Formats an ISO time in a time zone, with the zone shown. */
export function formatTime(iso: string, timeZone?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  const text = d.toLocaleString("ru-RU", { timeZone, hour12: false });
  return timeZone ? `${text} (${timeZone})` : text;
}
