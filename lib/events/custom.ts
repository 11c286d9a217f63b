/**
 * `custom.*`: events an organization publishes itself (POST /api/v1/events),
 * e.g. to try rules and live pages. One catalogue entry covers the family.
 */
import { z } from "zod";
import { defineEvent } from "./define.ts";
import type { CustomEventType } from "./types.ts";

/** What a custom event's type looks like: `custom.` and up to 60 of a-z 0-9 _ . - */
export const CUSTOM_TYPE = /^custom\.[a-z0-9_.-]{1,60}$/;

/** True for a well-formed custom event type. */
export function isCustomType(type: string): type is CustomEventType {
  return CUSTOM_TYPE.test(type);
}

export const customEvents = {
  "custom.*": defineEvent({
    title: { ru: "Своё событие", en: "Custom event" },
    description: "An event the organization published itself through POST /api/v1/events; its data is free-form",
    schema: z.record(z.string(), z.unknown()),
  }),
};
