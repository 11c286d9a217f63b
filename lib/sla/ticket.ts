/**
 * The normalized ticket every ticket-system adapter produces and the hub
 * stores: the agent maps the system's own fields onto this shape, so another
 * ticket system is another adapter, not a protocol change. Pure (the agent
 * bundles it).
 */
import { z } from "zod";

const iso = z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO date-time");
const text = (max: number) => z.string().max(max);

/** One stay of a ticket in a department: from `from` until `to` (null: still there). */
export const handoffSchema = z.object({
  department: text(200),
  from: iso,
  to: iso.nullable(),
});

export const ticketSchema = z.object({
  id: text(100).min(1),
  title: text(500),
  status: text(100),
  priority: text(100).nullable(),
  department: text(200).nullable(),
  assignee: text(200).nullable(),
  createdAt: iso,
  slaDeadline: iso.nullable(),
  suspendedSince: iso.nullable(),
  /** Why the ticket is late or suspended, when the ticket system records it. */
  reason: text(300).nullable(),
  history: z.array(handoffSchema).max(200),
});
export type Ticket = z.infer<typeof ticketSchema>;
export type Handoff = z.infer<typeof handoffSchema>;

/** The two saved filters of the replaced service. */
export const FILTERS = ["arrears", "stopped"] as const;
export type FilterKind = (typeof FILTERS)[number];

/** Params of a `tickets.query` job: which filter, and its key when the hub's settings name one. */
export const ticketsQueryParamsSchema = z.object({
  filter: z.enum(FILTERS),
  key: z.string().min(1).max(200).optional(),
  /** At most this many tickets (the result must fit one frame). */
  limit: z.number().int().min(1).max(5000).optional(),
});
export type TicketsQueryParams = z.infer<typeof ticketsQueryParamsSchema>;

/** What a `tickets.query` result carries. */
export const ticketsResultSchema = z.object({
  tickets: z.array(ticketSchema).max(5000),
  /** True when the filter had more tickets than `limit`. */
  truncated: z.boolean().optional(),
});
export type TicketsResult = z.infer<typeof ticketsResultSchema>;
