/**
 * The Scheduler service (`hub.scheduler`): saving schedules (which plans the
 * rest of the current and the next minute at once, so an edit takes effect
 * immediately), "Run now", the tick, the fire handler and the run history.
 */
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { SecretBox } from "../crypto/secret_box.ts";
import { ConflictError, ValidationError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import type { FetchFn } from "../http/request.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { QueueFor } from "../queue/queue.ts";
import type { SchedulerKinds } from "./kinds.ts";
import type { SettingsStore } from "../settings.ts";
import { zodIssues } from "../validation.ts";
import { type GeneralSettings, generalSettingsSchema, orgAddressPolicy } from "../general_settings.ts";
import { fireOccurrence } from "./fire.ts";
import { formatInZone, nextOccurrence } from "./occurrences.ts";
import { RunStore } from "./runs.ts";
import {
  type FirePayload,
  type PublicSchedule,
  type Run,
  type RunSummary,
  type Schedule,
  type ScheduleInput,
  scheduleInputSchema,
} from "./schedule_schema.ts";
import { planKey, scheduleKey, ScheduleStore, toPublic } from "./store.ts";
import { addPlan, horizonOf, type PlanDeps, tick, type TickReport } from "./tick.ts";
import { type Resolver, urlProblem } from "../http/url_guard.ts";

/** How every refusal to save a schedule begins. */
const SAVE = "Cannot save schedule";

export interface SchedulerDeps {
  kv: Deno.Kv;
  queue: QueueFor<SchedulerKinds>;
  events: EventBus;
  secrets: SecretBox;
  settings: SettingsStore;
  clock: Clock;
  fetch: FetchFn;
  log: Logger;
  config: Pick<
    Config,
    | "SHLYUZ_TIMEZONE"
    | "SHLYUZ_ALLOW_PRIVATE_NETWORKS"
    | "SHLYUZ_SCHEDULER_BODY_LIMIT"
    | "SHLYUZ_SCHEDULER_RESPONSE_LIMIT"
    | "SHLYUZ_SCHEDULER_RUN_RETENTION_DAYS"
  >;
  /** DNS resolver for the URL guard (tests swap it). */
  resolve?: Resolver;
}

/** A schedule as the API and the page show it. */
export type ScheduleView = PublicSchedule & {
  /** ISO time of the next run, or null when disabled or it never fires again. */
  nextRunAt: string | null;
  /** The same instant as wall time in the schedule's zone: "2025-03-30 03:30:00 Europe/Berlin (GMT+2)". */
  nextRunLocal: string | null;
};

export class Scheduler {
  readonly store: ScheduleStore;
  readonly runs: RunStore;
  readonly #deps: SchedulerDeps;
  readonly #schema: ReturnType<typeof scheduleInputSchema>;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.store = new ScheduleStore(deps.kv, deps.secrets);
    this.runs = new RunStore(deps.kv, { retentionDays: deps.config.SHLYUZ_SCHEDULER_RUN_RETENTION_DAYS });
    this.#schema = scheduleInputSchema({ bodyLimit: deps.config.SHLYUZ_SCHEDULER_BODY_LIMIT });
  }

  /** The zod schema of a schedule as clients send it (routes use it for validation and OpenAPI). */
  get inputSchema(): ReturnType<typeof scheduleInputSchema> {
    return this.#schema;
  }

  /** The organization's general settings (time zone, private-network policy) over the env defaults. */
  general(org: string): Promise<GeneralSettings> {
    return this.#deps.settings.get(org, "general", generalSettingsSchema, {
      timezone: this.#deps.config.SHLYUZ_TIMEZONE,
    });
  }

  /** The organization's default zone: settings "general".timezone, else SHLYUZ_TIMEZONE. */
  async defaultTimezone(org: string): Promise<string> {
    return (await this.general(org)).timezone;
  }

  /** Parses raw input; a bad field becomes a 422 naming it. */
  parse(input: unknown): ScheduleInput {
    const parsed = this.#schema.safeParse(input);
    if (!parsed.success) {
      throw new ValidationError(zodIssues(parsed.error), { prefix: SAVE });
    }
    return parsed.data;
  }

  async create(org: string, input: ScheduleInput): Promise<ScheduleView> {
    const now = this.#deps.clock.now();
    const id = newId(now);
    const timezone = input.timezone ?? await this.defaultTimezone(org);
    await this.#check(org, input);
    const schedule = await this.store.build(org, id, { ...input, timezone }, { now });
    await this.#save(schedule, null, now);
    return this.view(schedule, now);
  }

  /** Replaces a schedule; null when it does not exist. */
  async update(org: string, id: string, input: ScheduleInput): Promise<ScheduleView | null> {
    const now = this.#deps.clock.now();
    const entry = await this.store.entry(org, id);
    if (!entry.value) return null;
    const timezone = input.timezone ?? entry.value.timezone;
    await this.#check(org, input);
    const schedule = await this.store.build(org, id, { ...input, timezone }, { previous: entry.value, now });
    await this.#save(schedule, entry, now);
    return this.view(schedule, now);
  }

  /** Changes some fields: merges them over the current schedule and validates the whole. */
  async patch(org: string, id: string, changes: Record<string, unknown>): Promise<ScheduleView | null> {
    const current = await this.store.get(org, id);
    if (!current) return null;
    const pub = toPublic(current);
    const merged = {
      name: pub.name,
      cron: pub.cron,
      timezone: pub.timezone,
      enabled: pub.enabled,
      action: pub.action,
      overlap: pub.overlap,
      catchUp: pub.catchUp,
      retry: pub.retry,
      timeoutMs: pub.timeoutMs,
      ...changes,
    };
    return await this.update(org, id, this.parse(merged));
  }

  async remove(org: string, id: string): Promise<boolean> {
    const entry = await this.store.entry(org, id);
    if (!entry.value) return false;
    // Fires already queued find no schedule and do nothing; the run history stays until it expires.
    await this.#deps.kv.atomic().check(entry).delete(entry.key).delete(planKey(org, id)).commit();
    return true;
  }

  async get(org: string, id: string): Promise<ScheduleView | null> {
    const s = await this.store.get(org, id);
    return s ? this.view(s) : null;
  }

  async list(org: string): Promise<ScheduleView[]> {
    const now = this.#deps.clock.now();
    return (await this.store.list(org)).map((s) => this.view(s, now));
  }

  view(s: Schedule, now = this.#deps.clock.now()): ScheduleView {
    const next = s.enabled ? nextOccurrence(s, now) : null;
    return {
      ...toPublic(s),
      nextRunAt: next === null ? null : new Date(next).toISOString(),
      nextRunLocal: next === null ? null : formatInZone(next, s.timezone),
    };
  }

  /** Queues a run at once ("Run now"); returns the queued run, or null when the schedule does not exist. */
  async runNow(org: string, id: string): Promise<Run | null> {
    const s = await this.store.get(org, id);
    if (!s) return null;
    const now = this.#deps.clock.now();
    const run: Run = {
      id: newId(now),
      org,
      scheduleId: id,
      scheduleName: s.name,
      revision: s.revision,
      timezone: s.timezone,
      trigger: "manual",
      plannedAt: new Date(now).toISOString(),
      outcome: "queued",
    };
    const payload: FirePayload = {
      scheduleId: id,
      plannedAt: now,
      revision: s.revision,
      trigger: "manual",
      runId: run.id,
    };
    const op = this.#deps.kv.atomic();
    this.runs.put(op, run);
    this.#deps.queue.stage(op, { kind: "schedule.fire", payload, org });
    if (!(await op.commit()).ok) throw new Error("Cannot queue the run: the KV commit was rejected");
    return run;
  }

  /** Plans the coming minute of every schedule (the cron calls this each minute). */
  tick(opts: { now?: number; concurrency?: number } = {}): Promise<TickReport> {
    return tick(this.#planDeps(), opts);
  }

  /** Handles one `schedule.fire` message. */
  fire(payload: FirePayload, ctx: { org: string; envelopeId: string }): Promise<Run | null> {
    return fireOccurrence(
      {
        ...this.#planDeps(),
        queue: this.#deps.queue,
        events: this.#deps.events,
        addressPolicy: (org) => orgAddressPolicy(this.#deps, org, { resolve: this.#deps.resolve }),
        fetch: this.#deps.fetch,
        responseLimit: this.#deps.config.SHLYUZ_SCHEDULER_RESPONSE_LIMIT,
      },
      payload,
      ctx,
    );
  }

  getRun(org: string, runId: string): Promise<Run | null> {
    return this.runs.get(org, runId);
  }

  listRuns(org: string, scheduleId: string, opts: { limit?: number; cursor?: string } = {}) {
    return this.runs.list(org, scheduleId, opts);
  }

  recentRuns(org: string, opts: { limit?: number } = {}): Promise<RunSummary[]> {
    return this.runs.recent(org, opts);
  }

  #planDeps(): PlanDeps {
    const d = this.#deps;
    return { kv: d.kv, queue: d.queue, runs: this.runs, store: this.store, clock: d.clock, log: d.log };
  }

  /** Checks what the schema cannot: the job kind exists and accepts the payload; the URL is not refused. */
  async #check(org: string, input: ScheduleInput) {
    const a = input.action;
    if (a.type === "internal") {
      // Only kinds that declare themselves schedulable: the others act for the operator or
      // across organizations (the RabbitMQ result queue), and a tenant must not forge them.
      const kinds = this.#deps.queue.schedulableKinds();
      if (!kinds.includes(a.job)) {
        throw unprocessable(
          "action.job",
          `${a.job} is not a job organizations may schedule; schedulable jobs: ${kinds.join(", ") || "none"}`,
        );
      }
      const valid = this.#deps.queue.validate(a.job, a.payload);
      if (!valid.ok) throw unprocessable("action.payload", `does not fit ${a.job}: ${valid.reason}`);
      return;
    }
    const problem = await urlProblem(a.url, await orgAddressPolicy(this.#deps, org, { resolve: false }));
    if (problem) throw unprocessable("action.url", problem);
  }

  async #save(schedule: Schedule, previous: Deno.KvEntryMaybe<Schedule> | null, now: number) {
    const key = scheduleKey(schedule.org, schedule.id);
    const op = this.#deps.kv.atomic()
      .check(previous ?? { key, versionstamp: null })
      .set(key, schedule);
    if (schedule.enabled) {
      // Plan the rest of this minute and the next one under the new revision right away.
      addPlan(op, this.#planDeps(), schedule, { from: now, now, horizon: horizonOf(now) });
    } else {
      op.delete(planKey(schedule.org, schedule.id));
    }
    if (!(await op.commit()).ok) {
      throw new ConflictError(`${SAVE}: it was changed at the same time; reload and try again`);
    }
  }
}

function unprocessable(field: string, message: string) {
  return new ValidationError([{ field, message }], { prefix: SAVE });
}
