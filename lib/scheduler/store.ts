/**
 * Schedules in KV under `["sched", org, id]`, with the secret header values of
 * HTTP actions sealed by the SecretBox (bound to the organization, schedule and
 * header name). Answers show secrets as "••••"; sending "••••" back keeps the
 * stored value, so forms never need to echo a secret — but only while the URL
 * keeps its origin (scheme, host, port).
 */
import { ValidationError } from "../errors.ts";
import type { SecretBox } from "../crypto/secret_box.ts";
import {
  MASK,
  type PublicSchedule,
  type Schedule,
  type ScheduleInput,
  SECRET_HEADER,
  type StoredAction,
  type StoredHeader,
} from "./schedule_schema.ts";

export function scheduleKey(org: string, id: string): Deno.KvKey {
  return ["sched", org, id];
}

/** Where the "planned through" watermark of a schedule lives: `{ through: epoch ms }`. */
export function planKey(org: string, id: string): Deno.KvKey {
  return ["sched_plan", org, id];
}

export interface PlanMark {
  /** Every occurrence before this instant has been enqueued or recorded as missed. */
  through: number;
}

export class ScheduleStore {
  readonly #kv: Deno.Kv;
  readonly #box: SecretBox;

  constructor(kv: Deno.Kv, box: SecretBox) {
    this.#kv = kv;
    this.#box = box;
  }

  entry(org: string, id: string): Promise<Deno.KvEntryMaybe<Schedule>> {
    return this.#kv.get<Schedule>(scheduleKey(org, id));
  }

  async get(org: string, id: string): Promise<Schedule | null> {
    return (await this.entry(org, id)).value;
  }

  /** The schedules of one organization, by id (creation order). */
  async list(org: string): Promise<Schedule[]> {
    const out: Schedule[] = [];
    for await (const e of this.#kv.list<Schedule>({ prefix: ["sched", org] })) out.push(e.value);
    return out;
  }

  /** Every schedule of every organization, for the tick. */
  async *all(): AsyncGenerator<Deno.KvEntry<Schedule>> {
    yield* this.#kv.list<Schedule>({ prefix: ["sched"] }, { batchSize: 500 });
  }

  /**
   * Turns validated input into the stored form: seals secret headers, keeps
   * masked ones from `previous`. Throws a 422 naming the header when a masked
   * value has nothing stored to keep.
   */
  async build(
    org: string,
    id: string,
    input: ScheduleInput & { timezone: string },
    { previous, now }: { previous?: Schedule; now: number },
  ): Promise<Schedule> {
    const at = new Date(now).toISOString();
    return {
      id,
      org,
      name: input.name,
      cron: input.cron,
      timezone: input.timezone,
      enabled: input.enabled,
      action: await this.#storeAction(org, id, input.action, previous?.action),
      overlap: input.overlap,
      catchUp: input.catchUp,
      retry: input.retry,
      timeoutMs: input.timeoutMs,
      revision: (previous?.revision ?? 0) + 1,
      createdAt: previous?.createdAt ?? at,
      updatedAt: at,
    };
  }

  async #storeAction(
    org: string,
    id: string,
    action: ScheduleInput["action"],
    previous: StoredAction | undefined,
  ): Promise<StoredAction> {
    if (action.type === "internal") return action;
    const secretNames = new Set(action.secretHeaders.map((n) => n.toLowerCase()));
    const prevHeaders = previous?.type === "http" ? previous.headers : [];
    // A stored secret only follows the URL within its origin: otherwise an editor who never saw the
    // value could point the schedule at their own server and receive it.
    const sameOrigin = previous?.type === "http" && originOf(previous.url) === originOf(action.url);
    const headers: StoredHeader[] = [];
    for (const [name, value] of Object.entries(action.headers)) {
      const lower = name.toLowerCase();
      const secret = secretNames.has(lower) || SECRET_HEADER.test(name);
      if (!secret) {
        headers.push({ name, value, secret: false });
        continue;
      }
      if (value === MASK) {
        const kept = prevHeaders.find((h) => h.secret && h.name.toLowerCase() === lower);
        if (kept && !sameOrigin) {
          const field = `action.headers.${name}`;
          const message =
            `the URL's origin changed; send the value again (${MASK} keeps a stored one only for the same origin)`;
          throw new ValidationError([{ field, message }], { prefix: "Cannot save schedule" });
        }
        if (!kept) {
          const field = `action.headers.${name}`;
          throw new ValidationError([{ field, message: `send the value; ${MASK} only keeps a stored one` }], {
            prefix: "Cannot save schedule",
          });
        }
        headers.push({ name, value: kept.value, secret: true });
        continue;
      }
      headers.push({ name, value: await this.#box.seal(value, headerAad(org, id, lower)), secret: true });
    }
    return { type: "http", method: action.method, url: action.url, headers, body: action.body };
  }

  /** Header values in the clear, for the moment of the call. */
  async openHeaders(schedule: Schedule): Promise<Record<string, string>> {
    if (schedule.action.type !== "http") return {};
    const out: Record<string, string> = {};
    for (const h of schedule.action.headers) {
      out[h.name] = h.secret
        ? await this.#box.open(h.value, headerAad(schedule.org, schedule.id, h.name.toLowerCase()))
        : h.value;
    }
    return out;
  }
}

/** scheme://host:port (default ports normalized), or null when the URL does not parse. */
function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

function headerAad(org: string, id: string, lowerName: string): string {
  return `${org}:schedule.${id}.header.${lowerName}`;
}

/** The schedule as answers show it: secret header values masked. */
export function toPublic(s: Schedule): PublicSchedule {
  if (s.action.type === "internal") return { ...s, action: s.action };
  const headers: Record<string, string> = {};
  for (const h of s.action.headers) headers[h.name] = h.secret ? MASK : h.value;
  return {
    ...s,
    action: {
      type: "http",
      method: s.action.method,
      url: s.action.url,
      headers,
      secretHeaders: s.action.headers.filter((h) => h.secret).map((h) => h.name),
      body: s.action.body,
    },
  };
}
