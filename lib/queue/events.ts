/**
 * The queue's event, for the event catalogue (lib/events/catalogue.ts): one
 * `queue.dead_lettered` per commit that files dead letters — a message that
 * used up its retries, failed for good, or was of an unknown kind or a bad
 * payload — so rules can tell someone. It carries what the message was and
 * why, never its payload (which may hold personal data or secrets).
 */
import { z } from "zod";
import { defineEvent } from "../events/define.ts";

/** How many of a commit's dead letters the event names (the rest are counted). */
export const DEAD_LETTER_EVENT_ITEMS = 10;
/** A reason longer than this is cut in the event (the dead letter keeps all of it). */
export const DEAD_LETTER_EVENT_REASON = 500;

const item = z.object({
  /** The dead letter's id (its message's envelope id): `GET /api/v1/dead-letters/{id}`. */
  id: z.string(),
  kind: z.string(),
  reason: z.string(),
  attempts: z.number().int(),
});

export const queueEvents = {
  "queue.dead_lettered": defineEvent({
    title: { ru: "Сообщение в очереди ошибок", en: "Message dead-lettered" },
    description:
      "Queue messages were filed as dead letters (retries used up, a permanent error, an unknown kind or a bad payload); " +
      "`kind` and `reason` are the first one's, `items` names up to ten",
    schema: z.object({
      count: z.number().int().min(1),
      kind: z.string(),
      reason: z.string(),
      items: z.array(item),
    }),
  }),
};
