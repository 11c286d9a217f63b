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
  "connector.job.failed": defineEvent({
    title: { ru: "Задание коннектора не выполнено", en: "Connector job failed" },
    description:
      "A job sent to a connector failed: the agent answered an error, the deadline passed, or the connector went away",
    schema: z.object({
      ...connector,
      jobId: z.string(),
      action: z.string(),
      /** Which saved filter the query was for. */
      filter: z.enum(["arrears", "stopped"]),
      /** The agent's error code, or timeout / disconnected / unavailable. */
      code: z.string(),
      error: z.string(),
      /** True when the query goes to another connector next. */
      willRetry: z.boolean(),
    }),
  }),
  "sla.snapshot": defineEvent({
    title: { ru: "Снимок SLA", en: "SLA snapshot" },
    description:
      "A poll of one saved filter was stored: how many tickets are overdue and suspended now (live dashboards refresh on it)",
    schema: z.object({
      /** The connector that answered (null for a snapshot stored otherwise). */
      connectorId: z.string().nullable(),
      filter: z.enum(["arrears", "stopped"]),
      /** ISO time of the poll. */
      takenAt: z.string(),
      overdue: z.number().int().min(0),
      suspended: z.number().int().min(0),
      /** Tickets that went over their SLA since the previous snapshot (each also raised sla.breached). */
      newBreaches: z.number().int().min(0),
    }),
  }),
};
