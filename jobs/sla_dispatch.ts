/**
 * The SLA poll's jobs and cron (lib/connector/dispatch.ts explains the flow;
 * the kinds and their payloads are in lib/connector/kinds.ts):
 *
 * - `sla.tick` `{}`: claims the organization's current interval slot and, if it
 *   was due, enqueues the slot's two `sla.dispatch` and the next tick;
 * - `sla.dispatch` `{filter, poll, attempt, tried}`: sends one ticket query to a
 *   live connector (idempotent: the job record's key is poll-filter-attempt);
 * - `sla.deadline` `{jobId}`: a job still pending at its deadline is re-dispatched.
 *
 * The cron (every minute) ticks every organization, which starts the chain or
 * finds the slot taken.
 */
import { listOrgs } from "../lib/accounts/store.ts";
import type { CoreHub } from "../lib/hub.ts";
import { defineJob } from "../lib/queue/queue.ts";
import { slaDeadlineKind, slaDispatchKind, slaTickKind } from "../lib/connector/kinds.ts";
import type { Dispatcher } from "../lib/connector/dispatch.ts";

/** The three jobs, handled by the capability's dispatcher. */
export function slaJobs({ dispatcher }: { dispatcher: Dispatcher }) {
  return [
    defineJob(slaTickKind, {
      async handle(_p, ctx) {
        await dispatcher.tick(ctx.org);
      },
    }),
    defineJob(slaDispatchKind, {
      async handle(p, ctx) {
        await dispatcher.dispatch(ctx.org, p);
      },
    }),
    defineJob(slaDeadlineKind, {
      async handle(p, ctx) {
        await dispatcher.deadline(ctx.org, p.jobId);
      },
    }),
  ];
}

/** Every minute: tick each organization (a no-op where the slot already ran or no connector exists). */
export function registerSlaCron(hub: CoreHub, { dispatcher }: { dispatcher: Dispatcher }): void {
  hub.cron("sla-tick", "* * * * *", async () => {
    for (const org of await listOrgs(hub.kv)) await dispatcher.tick(org.id);
  });
}
