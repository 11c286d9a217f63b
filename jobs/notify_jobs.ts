/**
 * The notification capability's jobs and crons (registered by lib/notify/mod.ts):
 * - `notify.send` `{ deliveryId }`: sends one delivery (idempotent: a sent or
 *   failed delivery is a no-op, sent parts are skipped); a dead-lettered one
 *   is marked failed and raises `notify.failed`;
 * - `notify.digest` `{ ruleId, window }`: sends a rule's digest once;
 * - `mail.poll` `{ mailboxId }`: reads one mailbox (a second delivery finds
 *   the cursor moved, or the lease held);
 * - crons every minute: check every bot (token, webhook ownership; pollers for
 *   bots no process polls), route stored events nobody routed (lib/notify/route_feed.ts)
 *   and enqueue the mailboxes that are due.
 */
import type { CoreHub } from "../lib/hub.ts";
import { defineJob } from "../lib/queue/queue.ts";
import type { NotifyService } from "../lib/notify/mod.ts";
import { digestKind, mailPollKind, sendKind } from "../lib/notify/kinds.ts";
import { listOrgs } from "../lib/accounts/store.ts";

export function registerNotifyJobs(hub: CoreHub, svc: NotifyService): void {
  hub.queue.register(defineJob(sendKind, {
    async handle(payload, ctx) {
      await svc.delivery.handle(ctx.org, payload, { lastAttempt: ctx.lastAttempt });
    },
    async onDeadLetter(payload, ctx, reason) {
      if (!payload) return;
      const d = await svc.store.getDelivery(ctx.org, payload.deliveryId);
      if (d) await svc.delivery.fail(d, reason);
    },
  }));
  hub.queue.register(defineJob(digestKind, {
    async handle(payload, ctx) {
      await svc.router.digest(ctx.org, payload);
    },
  }));
  hub.queue.register(defineJob(mailPollKind, {
    async handle(payload, ctx) {
      await svc.mailboxes.poll(ctx.org, payload.mailboxId);
    },
  }));
}

export function registerNotifyCrons(hub: CoreHub, svc: NotifyService): void {
  hub.cron("notify-bots", "* * * * *", () => svc.checkBots());
  hub.cron("notify-route-sweep", "* * * * *", async () => {
    await svc.sweep();
  });
  hub.cron("mail-poll", "* * * * *", async () => {
    await svc.mailboxes.enqueueDue((await listOrgs(hub.kv)).map((o) => o.id));
  });
}
