/**
 * The Connectors & SLA capability's queue message kinds (the flow is in
 * dispatch.ts): `sla.tick` claims an interval slot, `sla.dispatch` sends one
 * ticket query to a connector, `sla.deadline` re-dispatches one not answered
 * in time. Declared once here, imported by the producers (dispatch.ts) and
 * the jobs (jobs/sla_dispatch.ts).
 */
import { z } from "zod";
import { defineKind, type KindMap } from "../queue/kind.ts";
import { FILTERS } from "../sla/ticket.ts";

export const slaTickKind = defineKind({
  kind: "sla.tick",
  payload: z.object({}),
  description: "Starts the organization's SLA poll if its interval slot is due, and schedules the next tick",
});

export const slaDispatchKind = defineKind({
  kind: "sla.dispatch",
  payload: z.object({
    filter: z.enum(FILTERS),
    /** The poll this job belongs to (`<interval>s<slot>` on schedule, `m<id>` for "poll now"). */
    poll: z.string().min(1).max(60),
    attempt: z.number().int().min(0).max(10).default(0),
    /** Connectors already tried for this poll and filter. */
    tried: z.array(z.string().max(100)).max(10).default([]),
  }),
  description: "Sends one saved-filter query of an SLA poll to a live connector",
});
export type SlaDispatchPayload = z.output<typeof slaDispatchKind.payload>;

export const slaDeadlineKind = defineKind({
  kind: "sla.deadline",
  payload: z.object({ jobId: z.string().min(1).max(100) }),
  description: "Re-dispatches a connector job that was not answered before its deadline",
});

export const connectorKinds = [slaTickKind, slaDispatchKind, slaDeadlineKind] as const;
export type ConnectorKinds = KindMap<typeof connectorKinds>;
