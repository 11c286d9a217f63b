/** The live Events page: shows events as they arrive on the SSE stream. */
import { useEffect, useState } from "preact/hooks";
import { formatTime, type LiveEvent, liveEvents } from "./_lib.ts";

export interface EventsFeedProps {
  initial: LiveEvent[];
  types: string[];
  timeZone: string;
}

export default function EventsFeed({ initial, types, timeZone }: EventsFeedProps) {
  const [events, setEvents] = useState<LiveEvent[]>(initial);
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState(types.join(","));

  useEffect(() => {
    const wanted = filter.split(",").map((t) => t.trim()).filter(Boolean);
    return liveEvents(wanted, (e) => {
      setEvents((list) => list.some((x) => x.id === e.id) ? list : [e, ...list].slice(0, 200));
    }, setOpen);
  }, [filter]);

  return (
    <div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const input = (e.currentTarget as HTMLFormElement).elements.namedItem("types") as HTMLInputElement;
          setFilter(input.value);
        }}
        role="search"
      >
        <input name="types" placeholder="types, e.g. task.*,schedule.run" value={filter} />
        <button type="submit">Filter</button>
      </form>
      <p>
        <small data-testid="stream-state">{open ? "● live" : "○ connecting…"}</small>
      </p>
      <div class="overflow-auto">
        <table class="striped" data-testid="events-table">
          <thead>
            <tr>
              <th>Event</th>
              <th>Data</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-event-id={e.id}>
                <td style="min-width:9rem">
                  <code>{e.type}</code>
                  <br />
                  <small>{formatTime(e.at, timeZone)}</small>
                </td>
                <td>
                  <small>
                    <code>{JSON.stringify(e.data).slice(0, 300)}</code>
                  </small>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {events.length === 0 && <p>No events yet. They appear here as they happen.</p>}
      </div>
    </div>
  );
}
