/**
 * `task.result`: fan-out of stored results — an event on the bus (live page,
 * SSE), then the RabbitMQ result queue (`task.amqp`) and the organization's
 * webhook (`task.webhook`) as their own messages with their own retries.
 */
import type { CoreHub } from "../lib/hub.ts";
import { dedupeKey } from "../lib/kv/dedupe.ts";
import { type EnrichmentKinds, taskAmqpKind, taskResultKind, taskWebhookKind } from "../lib/enrichment/kinds.ts";
import type { EnrichmentService } from "../lib/enrichment/service.ts";
import { sendWebhook } from "../lib/enrichment/webhooks.ts";
import { defineJob, type QueueFor } from "../lib/queue/queue.ts";
import { orgAddressPolicy } from "../lib/general_settings.ts";
import { TerminalJobError } from "../lib/errors.ts";
import { labelledFetch } from "../lib/http/instrumented_fetch.ts";

const DAY = 24 * 3600_000;

/**
 * Publishes `task.done` and hands the RabbitMQ publish and the webhook to their
 * own message kinds, all in one commit with the marker — so each happens
 * exactly once however many copies of the message arrive, and a RabbitMQ outage (long retries of `task.amqp`) never holds
 * up or dead-letters the webhooks.
 */
export function taskResultJob(
  hub: Pick<CoreHub, "events"> & { queue: QueueFor<EnrichmentKinds> },
  svc: EnrichmentService,
) {
  return defineJob(taskResultKind, {
    async handle(p, ctx) {
      const key = dedupeKey(taskResultKind.kind, ctx.id);
      const marker = await ctx.kv.get<string[]>(key);
      if (marker.value?.includes("handed-off")) return;
      const results = p.results.map((r) => ({
        task_id: r.task_id,
        id: r.id,
        task_type: r.task_type,
        cursor: r.cursor,
      }));
      const one = results.length === 1 ? { task_id: results[0].task_id, id: results[0].id } : {};
      const op = ctx.kv.atomic().check(marker).set(key, ["handed-off"], { expireIn: DAY });
      // The event joins the hand-off's commit: copies of this message (at-least-once delivery, or a
      // crash between publishing and committing) publish it once, like the hand-offs.
      const fanOut = hub.events.stage(op, ctx.org, "task.done", { ...one, count: results.length, results });
      if (svc.bridge && ctx.org === (await svc.bridgeOrg())) {
        hub.queue.stage(op, { kind: "task.amqp", payload: { results }, org: ctx.org });
      }
      if (await svc.webhook(ctx.org)) hub.queue.stage(op, { kind: "task.webhook", payload: { results }, org: ctx.org });
      // A failed check means another delivery of this message handed off first: nothing left to do.
      if ((await op.commit()).ok) fanOut();
    },
  });
}

/** Publishes results to the RabbitMQ result queue; retried for about 40 minutes while the broker is away. */
export function taskAmqpJob(svc: EnrichmentService) {
  return defineJob(taskAmqpKind, {
    async handle(p, ctx) {
      if (!svc.bridge) return; // bridge switched off meanwhile
      // The result queue is the operator's and carries one organization's results: a message
      // of any other organization is a forgery (or a stale message from before AMQP_ORG changed).
      const bridgeOrg = await svc.bridgeOrg();
      if (ctx.org !== bridgeOrg) {
        throw new TerminalJobError(
          `task.amqp of organization ${ctx.org} refused: the RabbitMQ result queue carries only ${bridgeOrg}'s results`,
        );
      }
      await svc.bridge.publishResults(p.results.map((r) => ({ task_id: r.task_id, id: r.id })));
    },
  });
}

/** Delivers one signed webhook; failures retry on the queue's backoff, then dead-letter. */
export function taskWebhookJob(hub: Pick<CoreHub, "fetch" | "clock" | "settings" | "config">, svc: EnrichmentService) {
  return defineJob(taskWebhookKind, {
    async handle(p, ctx) {
      const hook = await svc.webhook(ctx.org);
      if (!hook) return; // switched off meanwhile
      // The same address policy as scheduled HTTP actions, on the URL and every redirect hop
      // (checked at delivery, after DNS); a refused address is not retried.
      await sendWebhook(hook.url, {
        policy: { ...await orgAddressPolicy(hub, ctx.org), refusedAs: "Cannot deliver the result webhook" },
        secret: hook.secret,
        payload: { event: "task.result", results: p.results.map((r) => ({ task_id: r.task_id, id: r.id })) },
        fetch: labelledFetch(hub.fetch, { org: ctx.org, service: "result_webhook" }),
        now: hub.clock.now(),
      });
    },
  });
}
