/** The Events page and the live event feed (also on the 1C and planned-area pages). */
import { defineMessages } from "../define.ts";

export const events = defineMessages({
  ru: {
    "events.title": "События",
    "events.lead": "Всё, что происходит в хабе, в реальном времени.",
    "events.filter.label": "Типы событий",
    "events.filter.placeholder": "например task.*, schedule.run",
    "events.filter.showing": "Показаны события: {types}",
    "events.col.event": "Событие",
    "events.col.data": "Данные",
    "events.empty": "Событий пока нет. Они появятся здесь, как только произойдут.",
    "planned.notYet": "В этой сборке раздел ещё не доступен.",
    "planned.eventsBelow": "Его события появятся ниже, как только он заработает.",
  },
  en: {
    "events.title": "Events",
    "events.lead": "Everything that happens in the hub, live.",
    "events.filter.label": "Event types",
    "events.filter.placeholder": "e.g. task.*, schedule.run",
    "events.filter.showing": "Showing events: {types}",
    "events.col.event": "Event",
    "events.col.data": "Data",
    "events.empty": "No events yet. They appear here as they happen.",
    "planned.notYet": "Not available in this build yet.",
    "planned.eventsBelow": "Its events will appear below as soon as it is enabled.",
  },
});
