/**
 * The events of the Connectors & SLA capability, for the event catalogue:
 * rules match on these fields and route them, e.g. to Telegram.
 */
import { z } from "zod";
import { defineEvent } from "../events/define.ts";

const connector = { connectorId: z.string(), name: z.string() };

export const slaEvents = {
  "sla.breached": defineEvent({
    title: { ru: "SLA нарушен", en: "SLA breached" },
    description: "A ticket went over its SLA deadline (once per ticket and breach, not on every poll)",
    schema: z.object({
      ticketId: z.string(),
      title: z.string(),
      department: z.string().nullable(),
      slaDeadline: z.string(),
      overdueMs: z.number().int().min(0),
    }),
  }),
  "sla.recovered": defineEvent({
    title: { ru: "SLA восстановлен", en: "SLA recovered" },
    description: "A ticket that was over its SLA is no longer in the overdue filter (closed or re-planned)",
    schema: z.object({ ticketId: z.string(), title: z.string(), overdueMs: z.number().int().min(0) }),
  }),
  "sla.suspended": defineEvent({
    title: { ru: "Заявка приостановлена", en: "Ticket suspended" },
    description: "A ticket appeared in the suspended filter",
    schema: z.object({ ticketId: z.string(), title: z.string(), suspendedSince: z.string().nullable() }),
  }),
  "sla.snapshot": defineEvent({
    title: { ru: "Снимок SLA", en: "SLA snapshot" },
    description:
      "A poll stored a fresh snapshot of one saved filter (arrears or stopped); live dashboards refresh on it",
    schema: z.object({
      filter: z.enum(["arrears", "stopped"]),
      count: z.number().int().min(0),
      at: z.string(),
      connectorId: z.string().nullable(),
    }),
  }),
  "connector.job.failed": defineEvent({
    title: { ru: "Задание коннектора не выполнено", en: "Connector job failed" },
    description: "A connector's ticket query failed or missed its deadline (willRetry: another connector is asked)",
    schema: z.object({
      ...connector,
      jobId: z.string(),
      filter: z.enum(["arrears", "stopped"]),
      error: z.string(),
      willRetry: z.boolean(),
    }),
  }),
  "connector.online": defineEvent({
    title: { ru: "Коннектор на связи", en: "Connector online" },
    description: "A connector authenticated and is ready for jobs",
    schema: z.object({ ...connector, version: z.string(), remoteAddress: z.string().nullable() }),
  }),
  "connector.offline": defineEvent({
    title: { ru: "Коннектор не на связи", en: "Connector offline" },
    description: "A connector disconnected, or a poll found no connector online (connectorId null)",
    schema: z.object({ connectorId: z.string().nullable(), name: z.string().nullable(), reason: z.string() }),
  }),
  "connector.auth_failed": defineEvent({
    title: { ru: "Коннектор не прошёл проверку", en: "Connector authentication failed" },
    description: "A connector's handshake was refused (wrong token or key, revoked, replayed or expired answer)",
    schema: z.object({ ...connector, reason: z.string(), remoteAddress: z.string().nullable() }),
  }),
};
