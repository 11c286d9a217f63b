/**
 * The live event feed (Events page, area pages): the filter applies to what is
 * shown and to what arrives, and lives in the page's URL (`?types=`); a row
 * shows its type, time and data as key/value lines.
 */
import { useEffect, useState } from "preact/hooks";
import { type LiveEvent, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import { KeyValues } from "./_kv.tsx";

export interface EventsFeedProps {
  initial: LiveEvent[];
  types: string[];
  i18n: IslandI18n;
  /** Show the filter form (the Events page) or not (a fixed area feed). */
  filterable?: boolean;
}

/** True when `type` matches one of the patterns (`task.*` matches `task.done`). */
export function matchesTypes(type: string, patterns: string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((p) => p === type || (p.endsWith(".*") && type.startsWith(p.slice(0, -1))) || p === "*");
}

const parse = (text: string) => text.split(",").map((t) => t.trim()).filter(Boolean);

export default function EventsFeed({ initial, types, i18n, filterable = false }: EventsFeedProps) {
  const { t, dateTime } = islandTranslator(i18n);
  const [events, setEvents] = useState<LiveEvent[]>(initial);
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState<string[]>(types);

  useEffect(() => {
    return liveEvents(filter, (e) => {
      setEvents((list) => list.some((x) => x.id === e.id) ? list : [e, ...list].slice(0, 200));
    }, setOpen);
  }, [filter.join(",")]);

  async function apply(next: string[]) {
    setFilter(next);
    const url = new URL(location.href);
    if (next.length) url.searchParams.set("types", next.join(","));
    else url.searchParams.delete("types");
    history.replaceState(null, "", url);
    // What is already shown follows the filter too: fetch the recent events of these types.
    const qs = new URLSearchParams({ limit: "50", ...(next.length ? { types: next.join(",") } : {}) });
    const res = await fetch(`/api/v1/events/recent?${qs}`, { credentials: "same-origin" }).catch(() => null);
    if (res?.ok) setEvents(((await res.json()) as { items: LiveEvent[] }).items);
    else setEvents((list) => list.filter((e) => matchesTypes(e.type, next)));
  }

  const shown = events.filter((e) => matchesTypes(e.type, filter));
  return (
    <div>
      {filterable && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const input = (e.currentTarget as HTMLFormElement).elements.namedItem("types") as HTMLInputElement;
            apply(parse(input.value));
          }}
          role="search"
          class="filter"
        >
          <input
            name="types"
            aria-label={t("events.filter.label")}
            placeholder={t("events.filter.placeholder")}
            value={filter.join(",")}
          />
          <button type="submit">{t("common.filter")}</button>
        </form>
      )}
      <p>
        <small data-testid="stream-state" data-state={open ? "live" : "connecting"}>
          {open ? t("common.live") : t("common.connecting")}
        </small>{" "}
        {filter.length > 0 && <small>· {t("events.filter.showing", { types: filter.join(", ") })}</small>}
      </p>
      <table class="striped cards" data-testid="events-table">
        <thead>
          <tr>
            <th>{t("events.col.event")}</th>
            <th>{t("events.col.data")}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.id} data-event-id={e.id}>
              <td data-label={t("events.col.event")} class="nowrap-cell">
                <code>{e.type}</code>
                <br />
                <small>{dateTime(e.at)}</small>
              </td>
              <td data-label={t("events.col.data")}>
                <details>
                  <summary>
                    <small>{summary(e.data)}</small>
                  </summary>
                  <KeyValues data={e.data} />
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p>{t("events.empty")}</p>}
    </div>
  );
}

/** The first few scalar fields of an event's data, for the collapsed row. */
function summary(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(data)) {
    if (v === null || typeof v === "object") continue;
    parts.push(`${k}: ${String(v).slice(0, 60)}`);
    if (parts.length === 3) break;
  }
  return parts.join(" · ") || "…";
}
