/**
 * The ticket-system port of the agent: one method that runs a saved filter
 * and returns normalized tickets. The HTTP adapter (http_adapter.ts) is one
 * implementation; another ticket system is another adapter, not a protocol
 * change.
 */
import type { Ticket } from "../sla/ticket.ts";

export interface TicketQuery {
  /** The saved filter's key in the ticket system. */
  key: string;
  /** At most this many tickets. */
  limit: number;
  signal?: AbortSignal;
}

export interface TicketAdapter {
  query(q: TicketQuery): Promise<{ tickets: Ticket[]; truncated: boolean }>;
  close?(): Promise<void>;
}

/** The ticket system refused the agent's credentials: the one line the operator needs. */
export class TicketAuthError extends Error {
  override name = "TicketAuthError";
  readonly code = "ticket_auth";
}

/** The ticket system failed (network, 5xx, rate limits beyond the deadline, a body that does not parse). */
export class TicketSystemError extends Error {
  override name = "TicketSystemError";
  readonly code: string;
  readonly status?: number;
  constructor(
    message: string,
    { code = "ticket_system", status, cause }: { code?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause });
    this.code = code;
    this.status = status;
  }
}
