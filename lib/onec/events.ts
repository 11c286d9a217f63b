/**
 * The events of the 1C → Bitrix24 intake, for the event catalogue
 * (lib/events/catalogue.ts). Every per-task event carries the request id, so
 * a rule or a page can tie it to the intake log entry.
 */
import { z } from "zod";
import { defineEvent } from "../events/define.ts";

const task = {
  requestId: z.string(),
  onecId: z.string(),
  title: z.string(),
  calculation: z.string(),
  /** The Bitrix24 task. */
  taskId: z.number().int().optional(),
  url: z.string().optional(),
  section: z.string().optional(),
};
const responsible = z.object({ id: z.number().int(), name: z.string() });

export const onecEvents = {
  "onec.task.created": defineEvent({
    title: { ru: "Задача 1С создана", en: "1C task created" },
    description: "A 1C task became a Bitrix24 task, with the responsible chosen and why",
    schema: z.object({
      ...task,
      op: z.literal("created"),
      responsible,
      reason: z.string().optional(),
      unassigned: z.boolean(),
    }),
  }),
  "onec.unassigned": defineEvent({
    title: { ru: "Задача 1С без исполнителя", en: "1C task unassigned" },
    description: "A created task went to the fallback responsible (no section matched, nobody available); why says so",
    schema: z.object({
      ...task,
      op: z.literal("created"),
      responsible,
      reason: z.string().optional(),
      unassigned: z.boolean(),
      why: z.string(),
    }),
  }),
  "onec.task.updated": defineEvent({
    title: { ru: "Задача 1С обновлена", en: "1C task updated" },
    description: "A 1C task that already had a Bitrix24 task updated it",
    schema: z.object({ ...task, op: z.literal("updated"), responsible }),
  }),
  "onec.task.failed": defineEvent({
    title: { ru: "Задача 1С не прошла", en: "1C task failed" },
    description:
      "A 1C task could not be created (op create) or its Bitrix24 task could not be updated (op update); error says why",
    schema: z.object({ ...task, op: z.enum(["create", "update"]), error: z.string() }),
  }),
  "onec.request.logged": defineEvent({
    title: { ru: "Запрос 1С записан", en: "1C request logged" },
    description: "A 1C request was processed, or refused with 422, and its intake log entry stored",
    schema: z.object({
      /** The intake log entry. */
      id: z.string(),
      requestId: z.string(),
      /** `rejected`: refused with 422 before any Bitrix24 call (the entry says why). */
      outcome: z.enum(["ok", "update_failed", "failed", "rejected"]),
      /** How many tasks the request carried. */
      tasks: z.number().int().min(0),
    }),
  }),
};
