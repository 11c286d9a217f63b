/** The Scheduler's queue message kinds (payload schemas in schedule_schema.ts). */
import { defineKind, type KindMap } from "../queue/kind.ts";
import { firePayloadSchema } from "./schedule_schema.ts";

/** `schedule.fire`: runs one occurrence of a schedule (planned by the tick, or "Run now"). */
export const scheduleFireKind = defineKind({
  kind: "schedule.fire",
  payload: firePayloadSchema,
  description: "Runs one occurrence of a schedule",
});

export const schedulerKinds = [scheduleFireKind] as const;
export type SchedulerKinds = KindMap<typeof schedulerKinds>;
