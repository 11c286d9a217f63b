/**
 * Rules: which events become which messages. A rule matches one event type
 * (or a `prefix.*`), conditions on the event's own fields (checked against the
 * type's schema when saved), and routes the event to chats through a bot with
 * a template, or to a webhook through the guarded fetch. Noise control: a
 * repeat window (the same key notifies once per N minutes) and a digest
 * (events of a burst collected into one message after N minutes).
 */
import { z } from "zod";
import { conditionProblems, conditionSchema, matchSchema } from "./conditions.ts";
import { placeholdersOf } from "./template.ts";
import { eventDefinition } from "./catalogue.ts";
import { fieldSchema } from "./conditions.ts";
import { keys } from "./store.ts";
import { newId } from "../ids.ts";

export const targetSchema = z.object({
  chatId: z.string().min(1).max(100),
  /** A forum topic of the group (message_thread_id). */
  threadId: z.number().int().positive().optional(),
});

export const ruleInputSchema = z.object({
  name: z.string().trim().min(1).max(200),
  enabled: z.boolean().default(true),
  eventType: z.string().min(1).max(100).regex(
    /^[\w-]+(\.[\w-]+)*(\.\*)?$|^\*$/,
    "must be an event type such as mail.received or task.*",
  ),
  match: matchSchema.default("all"),
  conditions: z.array(conditionSchema).max(20).default([]),
  template: z.string().min(1).max(4000).default("<b>{{event.type}}</b>"),
  /** The bot that sends; empty = any bot linked to each chat. */
  botId: z.string().max(100).optional(),
  targets: z.array(targetSchema).max(50).default([]),
  webhookUrl: z.string().max(2000).optional(),
  /** Notify once per this many minutes for the same repeat key. */
  repeatMinutes: z.number().int().min(1).max(10_080).optional(),
  /** Template of the repeat key (plain text), e.g. `{{scheduleId}}`; default: the rule itself. */
  repeatKey: z.string().max(200).optional(),
  /** Collect events for this many minutes and send one message. */
  digestMinutes: z.number().int().min(1).max(1440).optional(),
});
export type RuleInput = z.input<typeof ruleInputSchema>;

export interface Rule extends z.infer<typeof ruleInputSchema> {
  id: string;
  org: string;
  createdAt: string;
  updatedAt: string;
  /** Ready-made rules created for a new organization (switched off). */
  preset?: string;
}

/** Fields every event offers besides its own data (placeholders and conditions). */
export const EVENT_META_FIELDS = ["event.type", "event.id", "event.at"];

/** The event's data as templates and conditions see it: its fields plus `event.{type,id,at}`. */
export function eventView(e: { id: string; type: string; at: string; data: Record<string, unknown> }) {
  return { ...e.data, event: { type: e.type, id: e.id, at: e.at } };
}

/**
 * Problems of a rule against the catalogue and the organization's objects,
 * each naming the field; empty when it may be saved.
 */
export function ruleProblems(
  rule: z.infer<typeof ruleInputSchema>,
  { chatExists, botExists }: { chatExists: (id: string) => boolean; botExists: (id: string) => boolean },
): string[] {
  const problems: string[] = [];
  const exact = !rule.eventType.endsWith("*");
  const def = exact ? eventDefinition(rule.eventType) : null;
  if (rule.eventType === "notify.sent") {
    problems.push("eventType: notify.sent cannot trigger rules (a rule would notify about its own messages)");
  }
  const schema = def?.schema ?? null;
  const conds = rule.conditions.filter((c) => !c.field.startsWith("event."));
  problems.push(
    ...conditionProblems(conds, schema).map((p) => {
      const [, idx, rest] = /^conditions\.(\d+)(.*)$/.exec(p) ?? [];
      return idx === undefined ? p : `conditions.${rule.conditions.indexOf(conds[Number(idx)])}${rest}`;
    }),
  );
  rule.conditions.forEach((c, i) => {
    if (c.field.startsWith("event.") && !EVENT_META_FIELDS.includes(c.field)) {
      problems.push(`conditions.${i}.field: events have only event.type, event.id and event.at`);
    }
  });
  if (schema) {
    for (const p of placeholdersOf(rule.template)) {
      if (p.startsWith("event.") ? !EVENT_META_FIELDS.includes(p) : !fieldSchema(schema, p)) {
        problems.push(`template: the event ${rule.eventType} has no field ${p}`);
      }
    }
  }
  rule.targets.forEach((t, i) => {
    if (!chatExists(t.chatId)) problems.push(`targets.${i}.chatId: no such group or contact in this organization`);
  });
  if (rule.botId && !botExists(rule.botId)) problems.push("botId: no such bot in this organization");
  if (rule.enabled && rule.targets.length === 0 && !rule.webhookUrl) {
    problems.push("targets: an enabled rule needs at least one group or contact, or a webhookUrl");
  }
  if (rule.digestMinutes && rule.repeatMinutes) {
    problems.push("digestMinutes: choose a digest or a repeat window, not both");
  }
  return problems;
}

/** Rules in KV; every write bumps the organization's rules version (caches re-read on a change). */
export class RuleStore {
  /** Called after every write (the router drops its compiled rules). */
  onChange: (org: string) => void = () => {};

  constructor(readonly kv: Deno.Kv, readonly now: () => number) {}

  async list(org: string): Promise<Rule[]> {
    const out: Rule[] = [];
    for await (const e of this.kv.list<Rule>({ prefix: keys.rules(org) })) out.push(e.value);
    return out;
  }

  async get(org: string, id: string): Promise<Rule | null> {
    return (await this.kv.get<Rule>(keys.rule(org, id))).value;
  }

  async version(org: string): Promise<string | null> {
    return (await this.kv.get(keys.rulesVersion(org))).versionstamp;
  }

  async put(rule: Rule): Promise<void> {
    await this.kv.atomic().set(keys.rule(rule.org, rule.id), rule).set(keys.rulesVersion(rule.org), this.now())
      .commit();
    this.onChange(rule.org);
  }

  async create(org: string, input: z.infer<typeof ruleInputSchema>, preset?: string): Promise<Rule> {
    const now = new Date(this.now()).toISOString();
    const rule: Rule = { ...input, id: newId(this.now()), org, createdAt: now, updatedAt: now };
    if (preset) rule.preset = preset;
    await this.put(rule);
    return rule;
  }

  async remove(org: string, id: string): Promise<boolean> {
    if (!(await this.get(org, id))) return false;
    await this.kv.atomic().delete(keys.rule(org, id)).set(keys.rulesVersion(org), this.now()).commit();
    this.onChange(org);
    return true;
  }

  /** Creates the switched-off presets once per organization. */
  async ensurePresets(org: string): Promise<void> {
    const marker = ["nrule_presets", org];
    if ((await this.kv.get(marker)).versionstamp) return;
    const res = await this.kv.atomic().check({ key: marker, versionstamp: null }).set(marker, true).commit();
    if (!res.ok) return;
    for (const p of PRESETS) {
      await this.create(org, ruleInputSchema.parse({ ...p.rule, enabled: false }), p.key);
    }
  }
}

/** The failures operators care about, as switched-off rules a new organization starts with. */
export const PRESETS: Array<{ key: string; rule: RuleInput }> = [
  {
    key: "schedule.failed",
    rule: {
      name: "Расписание не выполнено",
      eventType: "schedule.failed",
      template: "⚠️ <b>Расписание не выполнено</b>: {{scheduleName}}\n{{reason}}",
      repeatMinutes: 30,
      repeatKey: "{{scheduleId}}",
    },
  },
  {
    key: "task.failed",
    rule: {
      name: "Задача обогащения не выполнена",
      eventType: "task.failed",
      template: "⚠️ <b>Задача не выполнена</b> {{task_id}}: {{reason}}",
      digestMinutes: 5,
    },
  },
  {
    key: "queue.dead_lettered",
    rule: {
      name: "Сообщение в очереди ошибок",
      eventType: "queue.dead_lettered",
      template: "🗂 <b>В очереди ошибок</b>: {{kind}} ({{count}})\n{{reason}}",
      repeatMinutes: 15,
      repeatKey: "{{kind}}",
    },
  },
  {
    key: "onec.task.failed",
    rule: {
      name: "Задача 1С не создана в Битрикс24",
      eventType: "onec.task.failed",
      template: "⚠️ <b>1С → Битрикс24</b>: задача не создана\n{{error}}",
    },
  },
  {
    key: "onec.unassigned",
    rule: {
      name: "Задача 1С без исполнителя",
      eventType: "onec.unassigned",
      template: "❗ <b>Нет исполнителя</b> для задачи 1С: {{why}}",
    },
  },
  {
    key: "connector.offline",
    rule: {
      name: "Коннектор недоступен",
      eventType: "connector.offline",
      template: "🔌 <b>Коннектор недоступен</b>: {{name}}",
      repeatMinutes: 60,
      repeatKey: "{{connectorId}}",
    },
  },
  {
    key: "mail.failed",
    rule: {
      name: "Почтовый ящик не читается",
      eventType: "mail.failed",
      template: "📭 <b>Ящик {{mailbox}} не читается</b>\n{{reason}}",
      repeatMinutes: 60,
      repeatKey: "{{mailboxId}}",
    },
  },
];
