/**
 * Routing events to deliveries. For every event, the organization's enabled
 * rules of that type (compiled once per rules version) are tried; each rule
 * that matches writes its deliveries and their `notify.send` messages in one
 * atomic operation together with a route marker for (source, rule) — so
 * routing the same source twice (a second process, a re-read mail) never
 * sends twice, and a crash never leaves half a rule's messages. The source is
 * the event's `dedupeKey` when it has one (a mail keeps it across re-reads),
 * else the event id. The repeat window's marker is in the same operation; a
 * digest collects items and one `notify.digest` message sends them later.
 */
import { type HubEvent, matchesType } from "../events/mod.ts";
import type { Logger } from "../log.ts";
import type { Queue } from "../queue/queue.ts";
import { sha256Hex } from "../ids.ts";
import { compileConditions } from "./conditions.ts";
import { type DeliveryRecord, NotifyStore } from "./store.ts";
import { eventView, type Rule, RuleStore } from "./rules.ts";
import { renderTemplate } from "./template.ts";
import { DIGEST_KIND, type DigestPayload, SEND_KIND } from "./kinds.ts";
import { mailDocuments } from "./mail/attachments.ts";

/** Event types rules never see (a rule about its own messages would loop). */
const UNROUTED = new Set(["notify.sent"]);
const ROUTE_TTL = 14 * 24 * 3600_000;
const DIGEST_ITEM_LIMIT = 50;
const VERSION_CHECK_MS = 1000;

interface Compiled {
  rule: Rule;
  test: (data: Record<string, unknown>) => boolean;
}

/** An organization's compiled rules, with the enabled ones indexed by the event type they match. */
export interface CompiledRules {
  all: Compiled[];
  /** Enabled rules of one exact type. */
  exact: Map<string, Compiled[]>;
  /** Enabled rules of a `prefix.*` (or `*`) type. */
  prefixed: Compiled[];
}

function indexRules(all: Compiled[]): CompiledRules {
  const exact = new Map<string, Compiled[]>();
  const prefixed: Compiled[] = [];
  for (const c of all) {
    if (!c.rule.enabled) continue;
    if (c.rule.eventType.endsWith("*")) prefixed.push(c);
    else exact.set(c.rule.eventType, [...(exact.get(c.rule.eventType) ?? []), c]);
  }
  return { all, exact, prefixed };
}

export interface RouterDeps {
  kv: Deno.Kv;
  store: NotifyStore;
  rules: RuleStore;
  queue: Pick<Queue, "stage">;
  log: Logger;
  now: () => number;
}

/** Which rules fire for an event, and what each would send (the rule tester). */
export interface RuleTrial {
  ruleId: string;
  name: string;
  matched: boolean;
  enabled: boolean;
  text: string;
  targets: string[];
}

export class Router {
  readonly #d: RouterDeps;
  readonly #cache = new Map<string, { version: string | null; rules: CompiledRules; checkedAt: number }>();

  constructor(deps: RouterDeps) {
    this.#d = deps;
  }

  /** The organization's compiled rules (re-read when the rules version changed). */
  async compiled(org: string): Promise<CompiledRules> {
    const hit = this.#cache.get(org);
    const now = performance.now();
    // Every event asks: the version is re-read at most every second (another process's change
    // shows within that); this process's own rule writes drop the cache at once (invalidate).
    if (hit && now - hit.checkedAt < VERSION_CHECK_MS) return hit.rules;
    const version = await this.#d.rules.version(org);
    if (hit && hit.version === version) {
      hit.checkedAt = now;
      return hit.rules;
    }
    const rules: Compiled[] = [];
    for (const rule of await this.#d.rules.list(org)) {
      try {
        rules.push({ rule, test: compileConditions(rule.conditions, rule.match) });
      } catch (error) {
        this.#d.log.warn("rule does not compile", { rule: rule.id, error });
      }
    }
    const indexed = indexRules(rules);
    this.#cache.set(org, { version, rules: indexed, checkedAt: now });
    return indexed;
  }

  /** Drops the organization's compiled rules (after a rule was written in this process). */
  invalidate(org: string): void {
    this.#cache.delete(org);
  }

  /** The enabled rules that match `event` (pure once compiled: the benchmark measures this). */
  matching(rules: CompiledRules, event: HubEvent): Rule[] {
    if (UNROUTED.has(event.type)) return [];
    const view = eventView(event);
    const out: Rule[] = [];
    for (const c of rules.exact.get(event.type) ?? []) if (c.test(view)) out.push(c.rule);
    for (const c of rules.prefixed) {
      if (matchesType(event.type, [c.rule.eventType]) && c.test(view)) out.push(c.rule);
    }
    return out;
  }

  /** Tries every rule (enabled or not) on an event and renders the messages, for the tester. */
  async trial(org: string, event: HubEvent, onlyRule?: Rule): Promise<RuleTrial[]> {
    const rules = onlyRule
      ? [{ rule: onlyRule, test: compileConditions(onlyRule.conditions, onlyRule.match) }]
      : (await this.compiled(org)).all;
    const chats = new Map((await this.#d.store.listChats(org)).map((c) => [c.id, c.title]));
    const view = eventView(event);
    return rules.filter((c) => matchesType(event.type, [c.rule.eventType])).map((c) => ({
      ruleId: c.rule.id,
      name: c.rule.name,
      enabled: c.rule.enabled,
      matched: !UNROUTED.has(event.type) && c.test(view),
      text: renderTemplate(c.rule.template, view),
      targets: [
        ...c.rule.targets.map((t) => chats.get(t.chatId) ?? t.chatId),
        ...(c.rule.webhookUrl ? [c.rule.webhookUrl] : []),
      ],
    }));
  }

  /** Routes one event; returns how many deliveries it queued. */
  async route(event: HubEvent): Promise<number> {
    const rules = this.matching(await this.compiled(event.org), event);
    let queued = 0;
    for (const rule of rules) {
      try {
        queued += await this.#routeRule(rule, event);
      } catch (error) {
        this.#d.log.error("routing failed", { rule: rule.id, event: event.id, error });
        throw error;
      }
    }
    return queued;
  }

  #source(event: HubEvent): string {
    const k = event.data.dedupeKey;
    return typeof k === "string" && k ? k : event.id;
  }

  async #routeRule(rule: Rule, event: HubEvent): Promise<number> {
    const org = event.org;
    const source = this.#source(event);
    const routeKey = ["dedupe", "notify.route", org, rule.id, source];
    const view = eventView(event);
    for (let i = 0; i < 5; i++) {
      const op = this.#d.kv.atomic().check({ key: routeKey, versionstamp: null })
        .set(routeKey, event.id, { expireIn: ROUTE_TTL });
      let repeatKey: Deno.KvKey | null = null;
      if (rule.repeatMinutes) {
        const k = rule.repeatKey ? renderTemplate(rule.repeatKey, view, { escape: false }).slice(0, 200) : "";
        repeatKey = ["dedupe", "notify.repeat", org, rule.id, k];
        op.check({ key: repeatKey, versionstamp: null }).set(repeatKey, event.id, {
          expireIn: rule.repeatMinutes * 60_000,
        });
      }
      let count = 0;
      if (rule.digestMinutes) {
        const openKey = ["ndigest_open", org, rule.id];
        const open = await this.#d.kv.get<string>(openKey);
        let window = open.value;
        if (!window) {
          window = String(this.#d.now());
          op.check(open).set(openKey, window, { expireIn: rule.digestMinutes * 60_000 * 3 });
          this.#d.queue.stage(op, {
            kind: DIGEST_KIND,
            payload: { ruleId: rule.id, window },
            org,
            delayMs: rule.digestMinutes * 60_000,
          });
        } else op.check(open);
        op.set(["ndigest_item", org, rule.id, window, event.id], renderTemplate(rule.template, view), {
          expireIn: rule.digestMinutes * 60_000 * 3,
        });
      } else {
        count = await this.#addDeliveries(op, rule, event, source, renderTemplate(rule.template, view));
      }
      if ((await op.commit()).ok) return count;
      if ((await this.#d.kv.get(routeKey)).versionstamp) return 0; // routed before (another process, a re-read)
      if (repeatKey && (await this.#d.kv.get(repeatKey)).versionstamp) {
        // Inside the repeat window: settle this event for the rule, so routing it again from the event
        // log after the window has passed (lib/notify/route_feed.ts) does not send it late.
        await this.#d.kv.atomic().check({ key: routeKey, versionstamp: null })
          .set(routeKey, `repeat:${event.id}`, { expireIn: ROUTE_TTL }).commit();
        return 0;
      }
    }
    throw new Error(`Cannot route event ${event.id} for rule ${rule.id}: too many concurrent changes`);
  }

  async #addDeliveries(
    op: Deno.AtomicOperation,
    rule: Rule,
    event: { id: string; type: string; at: string; org: string; data: Record<string, unknown> },
    source: string,
    text: string,
  ): Promise<number> {
    const org = event.org;
    const now = new Date(this.#d.now()).toISOString();
    let n = 0;
    const base = {
      org,
      ruleId: rule.id,
      ruleName: rule.name,
      eventId: event.id,
      eventType: event.type,
      status: "queued" as const,
      partsSent: 0,
      parts: 0,
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    };
    // A mail's forwarded attachments follow its message as documents; the rest are listed under it.
    const { documents, note } = mailDocuments(event);
    for (const t of rule.targets) {
      // One read per target, not a list of every chat: a rule names a few of an organization's chats.
      const chat = await this.#d.store.getChat(org, t.chatId);
      const d: DeliveryRecord = {
        ...base,
        id: await deliveryId(source, rule.id, `${t.chatId}#${t.threadId ?? ""}`),
        channel: "telegram",
        target: t.chatId,
        targetName: chat?.title ?? t.chatId,
        ...(rule.botId ? { botId: rule.botId } : {}),
        ...(t.threadId ? { threadId: t.threadId } : {}),
        text: text + note,
        ...(documents.length ? { documents, documentsSent: 0 } : {}),
      };
      this.#d.store.addDelivery(op, d);
      this.#d.queue.stage(op, { kind: SEND_KIND, payload: { deliveryId: d.id }, org });
      n++;
    }
    if (rule.webhookUrl) {
      const d: DeliveryRecord = {
        ...base,
        id: await deliveryId(source, rule.id, rule.webhookUrl),
        channel: "webhook",
        target: rule.webhookUrl,
        targetName: new URL(rule.webhookUrl).host,
        text: JSON.stringify({
          event: { id: event.id, type: event.type, at: event.at },
          data: event.data,
          rule: { id: rule.id, name: rule.name },
          text: renderTemplate(rule.template, eventView(event), { escape: false }),
        }),
      };
      this.#d.store.addDelivery(op, d);
      this.#d.queue.stage(op, { kind: SEND_KIND, payload: { deliveryId: d.id }, org });
      n++;
    }
    return n;
  }

  /** Sends a digest window: its items as one message per target. Idempotent per window. */
  async digest(org: string, { ruleId, window }: DigestPayload): Promise<number> {
    const rule = await this.#d.rules.get(org, ruleId);
    const items: Array<{ key: Deno.KvKey; text: string }> = [];
    for await (const e of this.#d.kv.list<string>({ prefix: ["ndigest_item", org, ruleId, window] })) {
      items.push({ key: e.key, text: e.value });
    }
    const openKey = ["ndigest_open", org, ruleId];
    const open = await this.#d.kv.get<string>(openKey);
    const op = this.#d.kv.atomic();
    if (open.value === window) op.check(open).delete(openKey);
    let n = 0;
    if (rule && items.length) {
      const shown = items.slice(0, DIGEST_ITEM_LIMIT).map((i) => `• ${i.text}`);
      const more = items.length > DIGEST_ITEM_LIMIT ? `\n… и ещё ${items.length - DIGEST_ITEM_LIMIT}` : "";
      const text = `<b>${items.length} ${plural(items.length)} за ${rule.digestMinutes} мин — ${rule.name}</b>\n` +
        shown.join("\n") + more;
      const event = {
        id: `digest-${window}`,
        type: rule.eventType,
        at: new Date(Number(window)).toISOString(),
        org,
        data: {},
      };
      const routeKey = ["dedupe", "notify.route", org, rule.id, `digest:${window}`];
      op.check({ key: routeKey, versionstamp: null }).set(routeKey, true, { expireIn: ROUTE_TTL });
      n = await this.#addDeliveries(op, rule, event, `digest:${window}`, text);
    }
    for (const i of items.slice(0, 300)) op.delete(i.key);
    await op.commit();
    return n;
  }
}

function plural(n: number): string {
  const d = n % 10, h = n % 100;
  if (d === 1 && h !== 11) return "событие";
  if (d >= 2 && d <= 4 && (h < 12 || h > 14)) return "события";
  return "событий";
}

/** A delivery id that is the same for the same (source, rule, target), so a re-route finds it. */
export async function deliveryId(source: string, ruleId: string, target: string): Promise<string> {
  return (await sha256Hex(`${source}\n${ruleId}\n${target}`)).slice(0, 32);
}
