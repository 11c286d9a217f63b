/**
 * The notifications capability (`hub.notify`): Telegram bots, groups and
 * contacts, rules over every event in the hub, deliveries through the queue,
 * and mailboxes watched over IMAP/POP3. `register(hub)` builds the service and
 * wires its queue kinds (`notify.send`, `notify.digest`, `mail.poll`,
 * lib/notify/kinds.ts; handlers in jobs/notify_jobs.ts), its crons (bot
 * checks, due mailboxes), its start hook (the router subscribes to every
 * event, the bots' pollers start) and its close.
 */
import type { CoreHub } from "../hub.ts";
import { defineCapability } from "../capability.ts";
import { notifyKinds } from "./kinds.ts";
import { registerNotifyCrons, registerNotifyJobs } from "../../jobs/notify_jobs.ts";
import { listOrgs } from "../accounts/store.ts";
import { orgAddressPolicy } from "../general_settings.ts";
import { newId } from "../ids.ts";
import type { HubEvent } from "../events/mod.ts";
import { BotService } from "./bots.ts";
import { DeliveryWorker } from "./delivery.ts";
import { SEND_KIND } from "./kinds.ts";
import { RateGate, type RateGateOptions } from "./rate_gate.ts";
import { deliveryId, Router, type RuleTrial } from "./router.ts";
import { RouteFeed } from "./route_feed.ts";
import { type Rule, type RuleInput, ruleInputSchema, ruleProblems, RuleStore } from "./rules.ts";
import { type ChatRecord, type DeliveryRecord, NotifyStore } from "./store.ts";
import { classifyTelegramError } from "./telegram.ts";
import { MailboxService } from "./mail/mailboxes.ts";
import { orgUrlProblem } from "../http/org_url.ts";
import { NotFoundError, ValidationError } from "../errors.ts";

export { DIGEST_KIND, POLL_KIND, SEND_KIND } from "./kinds.ts";

/** "field: message" problems as the API's field issues (a 422 naming each field). */
/** Bytes of deliveries one commit of a manual send carries (KV's limit is 800 KiB a commit). */
const SEND_NOW_COMMIT_BYTES = 300_000;

function invalid(prefix: string, problems: string[]): ValidationError {
  const fields = problems.map((p) => {
    const i = p.indexOf(": ");
    return i > 0 ? { field: p.slice(0, i), message: p.slice(i + 2) } : { field: "", message: p };
  });
  return new ValidationError(fields, { prefix });
}

export type NotifyHub = Pick<
  CoreHub,
  "config" | "kv" | "log" | "queue" | "events" | "secrets" | "settings" | "clock" | "fetch"
>;

export interface NotifyOptions {
  /** Long-poll timeout in seconds (tests use short ones). */
  pollTimeoutSeconds?: number;
  /** Telegram's limits as the gate keeps them (the benchmark compresses their windows). */
  rateLimits?: Omit<RateGateOptions, "now">;
  /** How long a rule's webhook may take to answer, ms (tests use short ones). */
  webhookTimeoutMs?: number;
}

export class NotifyService {
  readonly store: NotifyStore;
  readonly rules: RuleStore;
  readonly bots: BotService;
  readonly gate: RateGate;
  readonly router: Router;
  /** Routes events live and from the event log after a cursor (durable routing). */
  readonly feed: RouteFeed;
  readonly delivery: DeliveryWorker;
  readonly mailboxes: MailboxService;
  readonly #hub: NotifyHub;
  readonly #pending = new Set<Promise<unknown>>();
  #unsubscribe: (() => void) | null = null;

  constructor(hub: NotifyHub, opts: NotifyOptions = {}) {
    this.#hub = hub;
    const now = () => hub.clock.now();
    const log = hub.log.child("notify");
    this.store = new NotifyStore(hub.kv, hub.secrets, now);
    this.rules = new RuleStore(hub.kv, now);
    this.gate = new RateGate({ ...opts.rateLimits, now });
    this.bots = new BotService({
      kv: hub.kv,
      store: this.store,
      events: hub.events,
      log: log.child("bots"),
      clock: hub.clock,
      fetch: hub.fetch,
      apiRoot: hub.config.TELEGRAM_API_ROOT,
      publicUrl: hub.config.PUBLIC_URL,
      pollTimeoutSeconds: opts.pollTimeoutSeconds,
    });
    const addressPolicy = (org: string) => orgAddressPolicy(hub, org);
    this.router = new Router({ kv: hub.kv, store: this.store, rules: this.rules, queue: hub.queue, log, now });
    this.rules.onChange = (org) => this.router.invalidate(org);
    this.feed = new RouteFeed({ kv: hub.kv, events: hub.events, router: this.router, log, now });
    this.delivery = new DeliveryWorker({
      kv: hub.kv,
      store: this.store,
      bots: this.bots,
      gate: this.gate,
      queue: hub.queue,
      events: hub.events,
      clock: hub.clock,
      log,
      fetch: hub.fetch,
      addressPolicy,
      webhookTimeoutMs: opts.webhookTimeoutMs,
    });
    this.mailboxes = new MailboxService({
      kv: hub.kv,
      secrets: hub.secrets,
      events: hub.events,
      queue: hub.queue,
      router: this.feed,
      log: log.child("mail"),
      clock: hub.clock,
      addressPolicy,
      maxMessageBytes: hub.config.SHLYUZ_MAIL_MAX_MESSAGE_BYTES,
    });
  }

  /**
   * Subscribes the router to every event, routes what the event log holds after the cursors (events
   * committed before a crash whose routing never ran), and starts the bots' pollers (after the queue
   * listener).
   */
  async start(): Promise<void> {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#hub.events.subscribeAll((e) => this.#onEvent(e));
    const orgs = await listOrgs(this.#hub.kv);
    // In the background: after a long downtime the log may hold many events, and the hub should
    // serve meanwhile (close() and idle() wait for it).
    void this.#track(
      this.feed.sweep(orgs.map((o) => o.id), { upTo: this.#hub.clock.now() }).catch((error) => {
        this.#hub.log.error("notify: routing the stored events at start-up failed", { error });
        return 0;
      }),
    );
    for (const org of orgs) {
      this.bots.startPollers(await this.store.listBots(org.id));
    }
  }

  #onEvent(event: HubEvent) {
    this.#track(
      this.feed.route(event).catch((error) =>
        this.#hub.log.error("notify: routing an event failed", { type: event.type, error })
      ),
    );
    if (this.feed.sweepDue()) this.#track(this.sweep());
  }

  /** Routes the stored events no process of this hub has routed (a minute's cron, and now and then). */
  async sweep(): Promise<number> {
    try {
      return await this.feed.sweep((await listOrgs(this.#hub.kv)).map((o) => o.id));
    } catch (error) {
      this.#hub.log.error("notify: sweeping the event log failed", { error });
      return 0;
    }
  }

  #track<T>(p: Promise<T>): Promise<T> {
    const tracked = p.finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
    return tracked;
  }

  /** Waits for events being routed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.bots.close();
    await this.idle();
  }

  /** Health check of every bot (webhook ownership, token) and pollers for bots that have none; the cron calls it. */
  async checkBots(): Promise<void> {
    for (const org of await listOrgs(this.#hub.kv)) {
      for (const bot of await this.store.listBots(org.id)) {
        if (bot.status === "revoked") continue;
        await this.bots.check(bot);
      }
    }
  }

  // ---- rules

  async #validateRule(org: string, input: RuleInput): Promise<ReturnType<typeof ruleInputSchema.parse>> {
    const rule = ruleInputSchema.parse(input);
    const chats = new Set((await this.store.listChats(org)).map((c) => c.id));
    const bots = new Set((await this.store.listBots(org)).map((b) => b.id));
    const problems = ruleProblems(rule, { chatExists: (id) => chats.has(id), botExists: (id) => bots.has(id) });
    if (rule.webhookUrl) {
      const p = await orgUrlProblem(this.#hub, org, rule.webhookUrl);
      if (p) problems.push(`webhookUrl: ${p}`);
    }
    if (problems.length) throw invalid("Cannot save the rule", problems);
    return rule;
  }

  async createRule(org: string, input: RuleInput): Promise<Rule> {
    return await this.rules.create(org, await this.#validateRule(org, input));
  }

  async updateRule(org: string, id: string, input: RuleInput): Promise<Rule> {
    const cur = await this.rules.get(org, id);
    if (!cur) throw new NotFoundError("rule");
    const next: Rule = {
      ...cur,
      ...await this.#validateRule(org, input),
      id,
      org,
      updatedAt: new Date(this.#hub.clock.now()).toISOString(),
    };
    await this.rules.put(next);
    return next;
  }

  /** Rules of the organization (its switched-off presets are created on first look). */
  async listRules(org: string): Promise<Rule[]> {
    await this.rules.ensurePresets(org);
    return await this.rules.list(org);
  }

  /**
   * The rule tester: which rules fire for a sample (`type` + `data`) or a
   * recent real event (`eventId`), with the rendered messages. Nothing is sent.
   */
  async testRules(
    org: string,
    sample: { eventId?: string; type?: string; data?: Record<string, unknown>; rule?: RuleInput },
  ): Promise<{ event: HubEvent; results: RuleTrial[] }> {
    let event: HubEvent | undefined;
    if (sample.eventId) {
      event = (await this.#hub.events.recent(org, { limit: 1000 })).find((e) => e.id === sample.eventId);
      if (!event) throw new NotFoundError("event among the recent events");
    } else {
      if (!sample.type) {
        throw invalid("Cannot test rules", ["type: give eventId, or type and data"]);
      }
      const now = this.#hub.clock.now();
      event = { id: newId(now), org, type: sample.type, at: new Date(now).toISOString(), data: sample.data ?? {} };
    }
    const draft = sample.rule
      ? {
        ...ruleInputSchema.parse({ ...sample.rule, enabled: true, targets: sample.rule.targets ?? [] }),
        id: "draft",
        org,
        createdAt: event.at,
        updatedAt: event.at,
      }
      : undefined;
    return { event, results: await this.router.trial(org, event, draft) };
  }

  // ---- chats

  /** Registers a group or contact by hand: the bot must see the chat (getChat). */
  async addChat(
    org: string,
    { tgChatId, botId, kind }: { tgChatId: number; botId: string; kind?: "group" | "contact" },
  ) {
    const bot = await this.store.getBot(org, botId);
    if (!bot) {
      throw invalid("Cannot add the chat", ["botId: no such bot in this organization"]);
    }
    let chat;
    try {
      chat = await (await this.bots.api(bot)).getChat(tgChatId);
    } catch (error) {
      const f = classifyTelegramError(error);
      throw invalid("Cannot add the chat", [`tgChatId: @${bot.username} cannot see it (${f.reason})`]);
    }
    const title = "title" in chat && chat.title ? chat.title : [
      "first_name" in chat ? chat.first_name : "",
      "last_name" in chat ? chat.last_name : "",
    ].filter(Boolean).join(" ") || String(tgChatId);
    return await this.store.upsertChat(org, chat.id, (cur) => ({
      kind: kind ?? (chat.type === "private" ? "contact" : "group"),
      title,
      username: "username" in chat ? chat.username : undefined,
      botIds: [...new Set([...(cur?.botIds ?? []), bot.id])],
      status: "active",
      statusReason: undefined,
      isForum: "is_forum" in chat ? chat.is_forum : undefined,
    }));
  }

  /** Changes a chat: approve a contact, link more bots, rename. */
  async updateChat(
    org: string,
    id: string,
    patch: { status?: "active"; title?: string; botIds?: string[] },
  ): Promise<ChatRecord> {
    if (patch.botIds) {
      const bots = new Set((await this.store.listBots(org)).map((b) => b.id));
      const bad = patch.botIds.filter((b) => !bots.has(b));
      if (bad.length) {
        throw invalid("Cannot link bots", [`botIds: no such bot ${bad.join(", ")}`]);
      }
    }
    const next = await this.store.updateChat(org, id, (c) => ({
      ...(patch.title ? { title: patch.title } : {}),
      ...(patch.botIds ? { botIds: patch.botIds } : {}),
      ...(patch.status ? { status: patch.status, statusReason: undefined } : {}),
      kind: c.kind,
    }));
    if (!next) throw new NotFoundError("group or contact");
    return next;
  }

  // ---- deliveries

  /** Sends a message now (POST /api/v1/notifications): one delivery per chat. */
  async sendNow(
    org: string,
    { chatIds, text, botId, threadId }: { chatIds: string[]; text: string; botId?: string; threadId?: number },
  ): Promise<DeliveryRecord[]> {
    const chats = new Map((await this.store.listChats(org)).map((c) => [c.id, c]));
    const missing = chatIds.filter((id) => !chats.has(id));
    if (missing.length) {
      throw invalid("Cannot send", [`chatIds: no such group or contact ${missing.join(", ")}`]);
    }
    if (botId && !(await this.store.getBot(org, botId))) {
      throw invalid("Cannot send", ["botId: no such bot in this organization"]);
    }
    const now = new Date(this.#hub.clock.now()).toISOString();
    const source = newId(this.#hub.clock.now());
    // KV refuses a commit over 800 KiB: 100 chats of 20,000 characters are queued over several.
    let op = this.#hub.kv.atomic();
    let bytes = 0;
    const out: DeliveryRecord[] = [];
    const commit = async () => {
      if (!(await op.commit()).ok) throw new Error("Cannot queue the messages: the KV commit was rejected");
      op = this.#hub.kv.atomic();
      bytes = 0;
    };
    for (const chatId of chatIds) {
      const d: DeliveryRecord = {
        id: await deliveryId(source, "manual", chatId),
        org,
        channel: "telegram",
        target: chatId,
        targetName: chats.get(chatId)!.title,
        ...(botId ? { botId } : {}),
        ...(threadId ? { threadId } : {}),
        text,
        status: "queued",
        partsSent: 0,
        parts: 0,
        attempts: 0,
        createdAt: now,
        updatedAt: now,
      };
      // UTF-16 upper bound of the record and its queue message, with slack for the envelope.
      const size = JSON.stringify(d).length * 2 + 512;
      if (bytes && bytes + size > SEND_NOW_COMMIT_BYTES) await commit();
      this.store.addDelivery(op, d);
      this.#hub.queue.stage(op, { kind: SEND_KIND, payload: { deliveryId: d.id }, org });
      bytes += size;
      out.push(d);
    }
    await commit();
    return out;
  }

  /** Re-sends a delivery from the log as a new delivery (the old one stays as it was). */
  async resend(org: string, id: string): Promise<DeliveryRecord> {
    const old = await this.store.getDelivery(org, id);
    if (!old) throw new NotFoundError("delivery");
    const now = new Date(this.#hub.clock.now()).toISOString();
    const d: DeliveryRecord = {
      ...old,
      id: await deliveryId(newId(this.#hub.clock.now()), old.ruleId ?? "manual", old.target),
      status: "queued",
      partsSent: 0,
      parts: 0,
      attempts: 0,
      error: undefined,
      plainFallback: undefined,
      createdAt: now,
      updatedAt: now,
    };
    const op = this.#hub.kv.atomic();
    this.store.addDelivery(op, d);
    this.#hub.queue.stage(op, { kind: SEND_KIND, payload: { deliveryId: d.id }, org });
    if (!(await op.commit()).ok) throw new Error("Cannot queue the message: the KV commit was rejected");
    return d;
  }
}

export const notify = defineCapability({
  name: "notify",
  kinds: notifyKinds,
  register(hub: CoreHub, options: NotifyOptions = {}): Promise<NotifyService> {
    const svc = new NotifyService(hub, options);
    registerNotifyJobs(hub, svc);
    registerNotifyCrons(hub, svc);
    hub.onStart(() => svc.start());
    hub.onClose(() => svc.close());
    return Promise.resolve(svc);
  },
});
