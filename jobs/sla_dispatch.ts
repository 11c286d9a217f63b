/**
 * The SLA poll's queue kinds and cron (lib/connector/dispatch.ts explains the flow):
 *
 * - `sla.tick` `{}`: claims the organization's current interval slot and, if it
 *   was due, enqueues the slot's two `sla.dispatch` and the next tick;
 * - `sla.dispatch` `{filter, poll, attempt, tried}`: sends one ticket query to a
 *   live connector (idempotent: the job record's key is poll-filter-attempt);
 * - `sla.deadline` `{jobId}`: a job still pending at its deadline is re-dispatched.
 *
 * The cron (every minute) ticks every organization, which starts the chain or
 * finds the slot taken. Payload schemas live in lib/connector/dispatch.ts,
 * shared with their producers.
 */
import { listOrgs } from "../lib/accounts/store.ts";
import type { Hub } from "../lib/hub.ts";
import { defineJob } from "../lib/queue/queue.ts";
import type { ConnectorsService } from "../lib/connector/mod.ts";
import {
  SLA_DEADLINE_KIND,
  SLA_DISPATCH_KIND,
  SLA_TICK_KIND,
  slaDeadlinePayload,
  slaDispatchPayload,
  slaTickPayload,
} from "../lib/connector/dispatch.ts";

/** The capability, which createHub always builds. */
export function connectorsOf(hub: Hub): ConnectorsService {
  if (!hub.connectors) throw new Error("Cannot use connectors: the capability is not built (createHub builds it)");
  return hub.connectors;
}

/** Registers the three kinds. */
export function registerSlaJobs(hub: Hub): void {
  const svc = connectorsOf(hub);
  hub.queue.register(defineJob({
    kind: SLA_TICK_KIND,
    payload: slaTickPayload,
    async handle(_p, ctx) {
      await svc.dispatcher.tick(ctx.org);
    },
  }));
  hub.queue.register(defineJob({
    kind: SLA_DISPATCH_KIND,
    payload: slaDispatchPayload,
    async handle(p, ctx) {
      await svc.dispatcher.dispatch(ctx.org, p);
    },
  }));
  hub.queue.register(defineJob({
    kind: SLA_DEADLINE_KIND,
    payload: slaDeadlinePayload,
    async handle(p, ctx) {
      await svc.dispatcher.deadline(ctx.org, p.jobId);
    },
  }));
}

/** Every minute: tick each organization (a no-op where the slot already ran or no connector exists). */
export function registerSlaCron(hub: Hub): void {
  const svc = connectorsOf(hub);
  hub.cron("sla-tick", "* * * * *", async () => {
    for (const org of await listOrgs(hub.kv)) await svc.dispatcher.tick(org.id);
  });
}
