/**
 * Routing events to deliveries. For every event, the organization's enabled
 * rules of that type (compiled once per rules version) are tried; each rule
 * that matches writes its deliveries and their `notify.send` messages in one
 * atomic operation together with a route marker for (source, rule) — so
 * routing the same source twice (a second process, a re-read mail) never
 * sends twice, and a crash never leaves half a rule's messages. The source is
 * the event's `dedupeKey` when it has one (a mail keeps it across re-reads),
 * else the event id. The repeat window's marker is in the same operation; a
 * digest collects items (and a mail's kept attachments) and one
 * `notify.digest` message sends them later.
 */
import { type HubEvent, matchesType } from "../events/mod.ts";
import type { Logger } from "../log.ts";
import type { Queue } from "../queue/queue.ts";
import { sha256Hex } from "../ids.ts";
import { compileConditions } from "./conditions.ts";
import { type DeliveryRecord, keys, NotifyStore } from "./store.ts";
import { eventView, type Rule, RuleStore } from "./rules.ts";
import { escapeHtml, htmlToPlain, renderTemplate } from "./template.ts";
import { DIGEST_KIND, type DigestPayload, SEND_KIND } from "./kinds.ts";
import { type DeliveryDocument, digestDocuments, mailDocuments } from "./mail/attachments.ts";

/** Event types rules never see (a rule about its own messages would loop). */
const UNROUTED = new Set(["notify.sent"]);
const ROUTE_TTL = 14 * 24 * 3600_000;
const DIGEST_ITEM_LIMIT = 50;
/** One digest item's text, characters: 50 of them stay well inside a KV value (64 KiB). */
export const DIGEST_ITEM_MAX = 1000;
/** A digest's whole text, characters (UTF-16: at most 2 bytes each, well under 64 KiB). */
export const DIGEST_TEXT_MAX = 12_000;
/**
 * Bytes of deliveries (and their queue messages) one commit carries at most: KV refuses a
 * commit over 800 KiB, and 50 targets of one large text pass that.
 */
const COMMIT_BYTES = 300_000;
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
      let ahead: number | null = 0;
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
        // A mail's attachments: those kept follow the digest as documents, the others are named in its item.
        const { documents, note } = mailDocuments(event);
        const itemTtl = { expireIn: rule.digestMinutes * 60_000 * 3 };
        op.set(
          ["ndigest_item", org, rule.id, window, event.id],
          // In a list of items, the note follows on the next line rather than after a blank one.
          capHtml(renderTemplate(rule.template, view) + note.replace(/^\n\n/, "\n"), DIGEST_ITEM_MAX),
          itemTtl,
        );
        if (documents.length) op.set(["ndigest_doc", org, rule.id, window, event.id], documents, itemTtl);
      } else {
        const planned = await this.#deliveries(rule, event, source, renderTemplate(rule.template, view));
        // null: routed or repeated meanwhile (the checks below say which).
        ahead = await this.#writeAhead(planned, [routeKey, ...(repeatKey ? [repeatKey] : [])]);
        if (ahead !== null) this.#stageDeliveries(op, planned.slice(ahead));
        count = planned.length;
      }
      if (ahead !== null && (await op.commit()).ok) return count;
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

  /**
   * The deliveries a rule makes of one event (or digest): one per target, and the webhook's. The
   * Telegram ones carry `attachments` (default: the mail event's own, `mailDocuments`).
   */
  async #deliveries(
    rule: Rule,
    event: { id: string; type: string; at: string; org: string; data: Record<string, unknown> },
    source: string,
    text: string,
    attachments: { documents: DeliveryDocument[]; note: string } = mailDocuments(event),
  ): Promise<DeliveryRecord[]> {
    const org = event.org;
    const now = new Date(this.#d.now()).toISOString();
    const out: DeliveryRecord[] = [];
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
    const { documents, note } = attachments;
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
      out.push(d);
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
      out.push(d);
    }
    return out;
  }

  #stageDeliveries(op: Deno.AtomicOperation, list: DeliveryRecord[]): void {
    for (const d of list) {
      this.#d.store.addDelivery(op, d);
      this.#d.queue.stage(op, { kind: SEND_KIND, payload: { deliveryId: d.id }, org: d.org });
    }
  }

  /**
   * Writes the deliveries that do not fit the final commit (the one that sets the route marker)
   * ahead of it, in commits of at most COMMIT_BYTES. Each checks that the source is not routed
   * (and, for a repeat window, not repeated) and that its deliveries do not exist yet, so a crash
   * between commits and a re-route neither loses nor doubles one. Returns how many of `planned`
   * were handled (the rest go into the final commit), or null when a guard key was set meanwhile.
   */
  async #writeAhead(planned: DeliveryRecord[], guards: Deno.KvKey[]): Promise<number | null> {
    const chunks: DeliveryRecord[][] = [[]];
    let bytes = 0;
    for (const d of planned) {
      const size = deliveryBytes(d);
      if (bytes + size > COMMIT_BYTES && chunks.at(-1)!.length) {
        chunks.push([]);
        bytes = 0;
      }
      chunks.at(-1)!.push(d);
      bytes += size;
    }
    chunks.pop(); // the last chunk goes into the final commit
    let done = 0;
    for (const chunk of chunks) {
      if (!(await this.#commitGuarded(chunk, guards))) {
        // Some of them exist (an earlier attempt got this far): one at a time, skipping those.
        for (const d of chunk) {
          if (await this.#commitGuarded([d], guards)) continue;
          for (const g of guards) if ((await this.#d.kv.get(g)).versionstamp) return null;
        }
      }
      done += chunk.length;
    }
    return done;
  }

  async #commitGuarded(list: DeliveryRecord[], guards: Deno.KvKey[]): Promise<boolean> {
    const op = this.#d.kv.atomic();
    for (const g of guards) op.check({ key: g, versionstamp: null });
    for (const d of list) op.check({ key: keys.delivery(d.org, d.id), versionstamp: null });
    this.#stageDeliveries(op, list);
    return (await op.commit()).ok;
  }

  /**
   * Sends a digest window: its items as one message per target. Idempotent per window. The
   * window is closed (its open marker deleted) before its items are listed: routing checks that
   * marker, so an item staged meanwhile opens a new window instead of landing in this one after
   * it was read.
   */
  async digest(org: string, { ruleId, window }: DigestPayload): Promise<number> {
    const openKey = ["ndigest_open", org, ruleId];
    for (let i = 0;; i++) {
      const open = await this.#d.kv.get<string>(openKey);
      if (open.value !== window) break; // closed before (a redelivery), or another window
      if ((await this.#d.kv.atomic().check(open).delete(openKey).commit()).ok) break;
      if (i === 10) throw new Error(`Cannot close digest window ${window} of rule ${ruleId}: too many changes`);
    }
    const rule = await this.#d.rules.get(org, ruleId);
    const items: Array<{ key: Deno.KvKey; text: string }> = [];
    for await (const e of this.#d.kv.list<string>({ prefix: ["ndigest_item", org, ruleId, window] })) {
      items.push({ key: e.key, text: e.value });
    }
    const docKeys: Deno.KvKey[] = [];
    const docLists: DeliveryDocument[][] = [];
    for await (const e of this.#d.kv.list<DeliveryDocument[]>({ prefix: ["ndigest_doc", org, ruleId, window] })) {
      docKeys.push(e.key);
      docLists.push(e.value);
    }
    let n = 0;
    if (rule && items.length) {
      // Keys sort by event id, so the documents come in the order of the items.
      const attachments = digestDocuments(docLists);
      const text = digestText(rule, items.map((i) => i.text), { max: DIGEST_TEXT_MAX - attachments.note.length }) +
        attachments.note;
      const event = {
        id: `digest-${window}`,
        type: rule.eventType,
        at: new Date(Number(window)).toISOString(),
        org,
        data: {},
      };
      const source = `digest:${window}`;
      const routeKey = ["dedupe", "notify.route", org, rule.id, source];
      const planned = await this.#deliveries(rule, event, source, text, attachments);
      const ahead = await this.#writeAhead(planned, [routeKey]);
      if (ahead !== null) {
        const op = this.#d.kv.atomic().check({ key: routeKey, versionstamp: null })
          .set(routeKey, true, { expireIn: ROUTE_TTL });
        this.#stageDeliveries(op, planned.slice(ahead));
        if ((await op.commit()).ok) n = planned.length;
      }
    }
    // After the deliveries: a crash before this re-sends nothing (the route marker) and deletes them then.
    const done = [...items.map((i) => i.key), ...docKeys];
    for (let i = 0; i < done.length; i += 500) {
      const op = this.#d.kv.atomic();
      for (const key of done.slice(i, i + 500)) op.delete(key);
      await op.commit();
    }
    return n;
  }
}

/** A digest's text: a header, then as many items as fit `max` characters (at most 50), then how many more. */
export function digestText(
  rule: Pick<Rule, "name" | "digestMinutes">,
  items: string[],
  { max = DIGEST_TEXT_MAX }: { max?: number } = {},
): string {
  const header = `<b>${items.length} ${plural(items.length)} за ${rule.digestMinutes} мин — ${rule.name}</b>`;
  const shown: string[] = [];
  let length = header.length + 40;
  for (const item of items.slice(0, DIGEST_ITEM_LIMIT)) {
    const line = `• ${capHtml(item, DIGEST_ITEM_MAX)}`;
    if (length + line.length + 1 > max) break;
    shown.push(line);
    length += line.length + 1;
  }
  const more = items.length > shown.length ? `\n… и ещё ${items.length - shown.length}` : "";
  return [header, ...shown].join("\n") + more;
}

/**
 * At most `max` characters of Telegram HTML. A longer text is cut as plain text (escaped again):
 * a cut inside the markup would leave a tag open, which Telegram refuses.
 */
export function capHtml(text: string, max: number): string {
  if (text.length <= max) return text;
  let plain = htmlToPlain(text);
  let out = escapeHtml(plain);
  while (out.length > max - 1) {
    plain = plain.slice(0, Math.max(0, plain.length - Math.max(1, out.length - max + 1)));
    out = escapeHtml(plain);
  }
  return out + "…";
}

/** What one delivery and its queue message weigh in a commit, bytes (UTF-16 upper bound, envelope slack). */
function deliveryBytes(d: DeliveryRecord): number {
  return JSON.stringify(d).length * 2 + 512;
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
