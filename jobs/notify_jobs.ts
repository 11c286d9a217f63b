/**
 * The notification capability's queue kinds and crons:
 * - `notify.send` `{ deliveryId }`: sends one delivery (idempotent: a sent or
 *   failed delivery is a no-op, sent parts are skipped); dead-lettered ones
 *   are marked failed and raise `notify.failed`;
 * - `notify.digest` `{ ruleId, window }`: sends a rule's digest once;
 * - `mail.poll` `{ mailboxId }`: reads one mailbox (the cron enqueues the due ones every minute);
 * - a cron every minute checks every bot (token, webhook ownership) and
 *   starts pollers for bots no process polls.
 */
import type { Hub } from "../lib/hub.ts";
import { defineJob } from "../lib/queue/queue.ts";
import type { NotifyService } from "../lib/notify/mod.ts";
import { SEND_KIND, sendPayloadSchema } from "../lib/notify/delivery.ts";
import { DIGEST_KIND, digestPayloadSchema } from "../lib/notify/router.ts";
import { POLL_KIND, pollPayloadSchema } from "../lib/notify/mail/mailboxes.ts";
import { listOrgs } from "../lib/accounts/store.ts";

/** The notification service of a hub (built in `createHub` by lib/notify/mod.ts `register`). */
export function notifyOf(hub: Hub): NotifyService {
  if (!hub.notify) throw new Error("Cannot use notifications: createHub did not build hub.notify");
  return hub.notify;
}

export function registerNotifyJobs(hub: Hub): void {
  hub.queue.register(defineJob({
    kind: SEND_KIND,
    payload: sendPayloadSchema,
    async handle(payload, ctx) {
      await notifyOf(hub).delivery.handle(ctx.org, payload, { lastAttempt: ctx.lastAttempt });
    },
    async onDeadLetter(payload, ctx, reason) {
      if (!payload) return;
      const n = notifyOf(hub);
      const d = await n.store.getDelivery(ctx.org, payload.deliveryId);
      if (d) await n.delivery.fail(d, reason);
    },
  }));
  hub.queue.register(defineJob({
    kind: POLL_KIND,
    payload: pollPayloadSchema,
    // Reads one mailbox: a second delivery finds the cursor moved (or the lease held) and does nothing twice.
    async handle(payload, ctx) {
      await notifyOf(hub).mailboxes.poll(ctx.org, payload.mailboxId);
    },
  }));
  hub.queue.register(defineJob({
    kind: DIGEST_KIND,
    payload: digestPayloadSchema,
    async handle(payload, ctx) {
      await notifyOf(hub).router.digest(ctx.org, payload);
    },
  }));
}

export function registerNotifyCrons(hub: Hub): void {
  hub.cron("notify-bots", "* * * * *", () => notifyOf(hub).checkBots());
  hub.cron("mail-poll", "* * * * *", async () => {
    await notifyOf(hub).mailboxes.enqueueDue((await listOrgs(hub.kv)).map((o) => o.id));
  });
}
