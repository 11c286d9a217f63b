/**
 * Dispatch of SLA polls to connectors, safe with several hub processes.
 *
 * Every organization with connectors polls once per its own interval (its
 * SLA setting, default SLA_INTERVAL): time is cut into slots of that length
 * (`floor(now / interval)`), and a slot is claimed in one KV commit that
 * records when (`["sla_slot", org]` → `{at, intervalMs}`), so a slot runs
 * once however many processes' crons and queue ticks try. A slot is due when
 * the last claim lies in an earlier slot of the interval in force now, so a
 * changed interval applies from its next slot and never polls twice within
 * one. Claiming a slot enqueues the two `sla.dispatch` messages (arrears,
 * stopped) and the next `sla.tick`, delayed to the next slot — intervals
 * shorter than Deno.cron's minute work, and the minute cron only restarts a
 * chain that was lost (a tick that finds its slot taken enqueues nothing, so
 * extra chains die out).
 *
 * `sla.dispatch` picks a live connector (fewest jobs in flight, rotating by
 * slot so two agents share the load), records the job in
 * `["connector_job", org, id]` and a delayed `sla.deadline` in the same
 * commit, and routes the frame to the process holding the socket. A result,
 * a missed deadline and a dropped socket all settle the job record with a
 * versionstamp check, so only the first counts; the other two re-dispatch to
 * a connector not tried yet, up to three attempts.
 */
import { z } from "zod";
import type { Logger } from "../log.ts";
import type { QueueFor } from "../queue/queue.ts";
import type { ConnectorKinds, SlaDispatchPayload } from "./kinds.ts";
import type { EventPublisher } from "../events/types.ts";
import type { SettingsStore } from "../settings.ts";
import type { Config } from "../config.ts";
import { newId } from "../ids.ts";
import { type FilterKind, FILTERS, ticketsResultSchema } from "../sla/ticket.ts";
import type { SlaService } from "../sla/service.ts";
import type { ConnectorRegistry, LastJob } from "./registry.ts";
import type { ConnectorServer, ResultFrame } from "./server.ts";
import { formatZodError } from "../validation.ts";

export const MAX_ATTEMPTS = 3;

export const slaSettingsSchema = z.object({
  /** Poll interval, seconds (default SLA_INTERVAL). */
  intervalSec: z.coerce.number().int().min(5).max(86_400),
  /** Saved-filter keys sent with the jobs; unset: the agent's own FILTER_ARREARS / FILTER_STOPPED. */
  filterArrears: z.string().max(200).optional(),
  filterStopped: z.string().max(200).optional(),
  /** How long a connector has to answer one query, seconds. */
  deadlineSec: z.coerce.number().int().min(1).max(3600),
});
export type SlaSettings = z.infer<typeof slaSettingsSchema>;

export interface JobRecord {
  id: string;
  org: string;
  poll: string;
  filter: FilterKind;
  attempt: number;
  tried: string[];
  connectorId: string;
  deadline: number;
  state: "pending" | "done" | "failed" | "expired";
  createdAt: string;
  error?: string;
}

/** What the page shows about polling: the last poll and whether a connector took it. */
export interface PollState {
  state: "idle" | "ok" | "no_connector" | "failing";
  since: string;
  lastPollAt: string | null;
  lastOkAt: string | null;
  lastError: string | null;
}

const JOB_TTL = 24 * 3600_000;

/** The organization's last slot claim: when, under which interval. */
interface SlotClaim {
  at: number;
  intervalMs: number;
  /** Claims written before `at` existed carried the slot number only. */
  slot?: number;
}

const claimedAt = (c: SlotClaim): number => c.at ?? (c.slot ?? 0) * c.intervalMs;

export interface DispatcherOptions {
  kv: Deno.Kv;
  queue: QueueFor<ConnectorKinds>;
  settings: SettingsStore;
  config: Config;
  registry: ConnectorRegistry;
  server: ConnectorServer;
  sla: SlaService;
  log: Logger;
  now: () => number;
  events: EventPublisher;
}

export class Dispatcher {
  readonly #o: DispatcherOptions;
  constructor(opts: DispatcherOptions) {
    this.#o = opts;
  }

  async settings(org: string): Promise<SlaSettings> {
    const c = this.#o.config;
    return await this.#o.settings.get(org, "sla", slaSettingsSchema, {
      intervalSec: c.SLA_INTERVAL,
      filterArrears: c.FILTER_ARREARS,
      filterStopped: c.FILTER_STOPPED,
      deadlineSec: c.SLA_DEADLINE_SEC,
    });
  }

  /** The interval that decides when the organization's queries are dispatched, seconds. */
  async intervalSec(org: string): Promise<number> {
    return (await this.settings(org)).intervalSec;
  }

  async pollState(org: string): Promise<PollState> {
    return (await this.#o.kv.get<PollState>(["sla_poll", org])).value ??
      { state: "idle", since: new Date(0).toISOString(), lastPollAt: null, lastOkAt: null, lastError: null };
  }

  /** Moves the poll state; true only for the one caller whose commit changed it (concurrent queries race here). */
  async #setPollState(org: string, to: PollState["state"] | null, patch: Partial<PollState> = {}): Promise<boolean> {
    const key = ["sla_poll", org];
    for (let i = 0; i < 10; i++) {
      const entry = await this.#o.kv.get<PollState>(key);
      const cur = entry.value ?? await this.pollState(org);
      const now = new Date(this.#o.now()).toISOString();
      const state = to ?? cur.state; // null: keep the state, change only the patched fields
      const next: PollState = { ...cur, ...patch, state, since: cur.state === state ? cur.since : now };
      if ((await this.#o.kv.atomic().check(entry).set(key, next).commit()).ok) return cur.state !== state;
    }
    return false;
  }

  /**
   * Claims the current slot when it is due and starts its poll; returns the
   * slot, or null when it already ran (another process, an earlier tick) or
   * the organization has no connector.
   */
  async tick(org: string): Promise<number | null> {
    const connectors = (await this.#o.registry.list(org)).filter((c) => !c.revokedAt);
    if (connectors.length === 0) return null;
    const intervalMs = (await this.intervalSec(org)) * 1000;
    const now = this.#o.now();
    const slot = Math.floor(now / intervalMs);
    const key = ["sla_slot", org];
    const entry = await this.#o.kv.get<SlotClaim>(key);
    const last = entry.value ? claimedAt(entry.value) : null;
    if (last !== null && Math.floor(last / intervalMs) >= slot) return null;
    const op = this.#o.kv.atomic().check(entry).set(key, { at: now, intervalMs } satisfies SlotClaim);
    // Slot numbers of different intervals may coincide: the interval is part of the poll's name.
    const poll = `${intervalMs / 1000}s${slot}`;
    for (const filter of FILTERS) {
      this.#o.queue.stage(op, { kind: "sla.dispatch", payload: { filter, poll, attempt: 0, tried: [] }, org });
    }
    const nextAt = (slot + 1) * intervalMs;
    this.#o.queue.stage(op, { kind: "sla.tick", payload: {}, org, delayMs: nextAt - now + 5 });
    if (!(await op.commit()).ok) return null;
    return slot;
  }

  /** Starts a poll at once, outside the schedule ("poll now"). */
  async pollNow(org: string): Promise<string> {
    const poll = `m${newId(this.#o.now())}`;
    await this.#o.queue.enqueueMany(FILTERS.map((filter) => ({
      kind: "sla.dispatch" as const,
      org,
      payload: { filter, poll, attempt: 0, tried: [] },
    })));
    return poll;
  }

  /** Handles `sla.dispatch`: sends one query to a live connector (idempotent per poll, filter and attempt). */
  async dispatch(org: string, p: SlaDispatchPayload): Promise<JobRecord | null> {
    const { kv, registry, server } = this.#o;
    const jobId = `${p.poll}-${p.filter}-${p.attempt}`;
    const key = ["connector_job", org, jobId];
    if ((await kv.get(key)).versionstamp) return null; // delivered twice: already dispatched
    const settings = await this.settings(org);
    const live = await registry.liveLeases(org);
    const candidates = [...live].filter(([id]) => !p.tried.includes(id))
      .sort((a, b) => a[1].pending - b[1].pending || a[0].localeCompare(b[0]));
    await this.#setPollState(org, null, { lastPollAt: new Date(this.#o.now()).toISOString() });
    if (candidates.length === 0) {
      const reason = p.tried.length
        ? `no other connector online after ${p.tried.length} attempt(s) for the ${p.filter} query`
        : "no connector online";
      const changed = await this.#setPollState(org, "no_connector", { lastError: reason });
      if (changed || p.tried.length) {
        await this.#o.events.publish(org, "connector.offline", { connectorId: null, name: null, reason });
      }
      return null;
    }
    // Rotate by poll, and give the poll's two filters to different connectors: two agents share the load.
    const spread = candidates.filter(([, l]) => l.pending === candidates[0][1].pending);
    const [connectorId, lease] = spread[(hash(p.poll) + FILTERS.indexOf(p.filter) + p.attempt) % spread.length];
    const now = this.#o.now();
    const deadline = now + settings.deadlineSec * 1000;
    const record: JobRecord = {
      id: jobId,
      org,
      poll: p.poll,
      filter: p.filter,
      attempt: p.attempt,
      tried: [...p.tried, connectorId],
      connectorId,
      deadline,
      state: "pending",
      createdAt: new Date(now).toISOString(),
    };
    const op = kv.atomic().check({ key, versionstamp: null }).set(key, record, { expireIn: JOB_TTL });
    this.#o.queue.stage(op, { kind: "sla.deadline", payload: { jobId }, org, delayMs: deadline - now + 50 });
    if (!(await op.commit()).ok) return null;
    const key_ = p.filter === "arrears" ? settings.filterArrears : settings.filterStopped;
    const outcome = server.route(org, connectorId, lease.node, {
      t: "job",
      id: jobId,
      action: "tickets.query",
      params: { filter: p.filter, ...(key_ ? { key: key_ } : {}) },
      deadline,
    });
    if (outcome === "full" || outcome === "absent") {
      await this.#settle(
        org,
        jobId,
        "failed",
        { code: "unavailable", error: `connector ${outcome === "full" ? "has too many jobs" : "is not connected"}` },
      );
    }
    return record;
  }

  /** A result from the socket's process: settles the job, stores the tickets or tries another connector. */
  async result(org: string, connectorId: string, frame: ResultFrame): Promise<void> {
    const entry = await this.#o.kv.get<JobRecord>(["connector_job", org, frame.id]);
    const job = entry.value;
    if (!job || job.connectorId !== connectorId || job.state !== "pending") return;
    if (this.#o.now() > job.deadline) return; // late: the deadline check sends it elsewhere
    if (!frame.ok) {
      const code = frame.error?.code ?? "agent_error";
      const error = frame.error?.message ?? "the connector reported a failure";
      await this.#settle(org, frame.id, "failed", { code, error }, entry.versionstamp);
      return;
    }
    const parsed = ticketsResultSchema.safeParse(frame.data);
    if (!parsed.success) {
      await this.#settle(
        org,
        frame.id,
        "failed",
        { code: "invalid_result", error: `invalid result: ${formatZodError(parsed.error)}` },
        entry.versionstamp,
      );
      return;
    }
    // Store first, then mark done: a crash or a KV error in between leaves the job pending, and its deadline
    // asks again. Storing twice is harmless: the snapshot is keyed on the job id and the marks are claimed.
    try {
      await this.#o.sla.ingest(org, job.filter, parsed.data.tickets, {
        connectorId,
        jobId: job.id,
        truncated: parsed.data.truncated ?? false,
      });
    } catch (error) {
      this.#o.log.error("connector result could not be stored", { jobId: job.id, error });
      // The hub failed, not the connector: it may be asked again.
      await this.#settle(
        org,
        job.id,
        "failed",
        { code: "store_failed", error: "the hub could not store the result" },
        entry.versionstamp,
        { blameConnector: false },
      ).catch((e) => this.#o.log.warn("settling a job failed; its deadline retries it", { jobId: job.id, error: e }));
      return;
    }
    const op = this.#o.kv.atomic().check(entry).set(["connector_job", org, job.id], { ...job, state: "done" }, {
      expireIn: JOB_TTL,
    });
    if (!(await op.commit()).ok) return;
    const at = new Date(this.#o.now()).toISOString();
    await this.#o.registry.setStatus(org, connectorId, {
      lastJob: {
        id: job.id,
        action: "tickets.query",
        filter: job.filter,
        at,
        outcome: "ok",
        count: parsed.data.tickets.length,
      },
    });
    await this.#setPollState(org, "ok", { lastOkAt: at, lastError: null });
  }

  /** Handles `sla.deadline`: a job still pending at its deadline goes to another connector. */
  async deadline(org: string, jobId: string): Promise<void> {
    await this.#settle(org, jobId, "expired", { code: "timeout", error: "no answer before the deadline" });
  }

  /** Jobs of a socket that closed: settle them now rather than at their deadline. */
  async orphaned(org: string, jobIds: string[]): Promise<void> {
    for (const id of jobIds) {
      await this.#settle(org, id, "expired", { code: "disconnected", error: "the connector disconnected" });
    }
  }

  /**
   * Settles a pending job as failed/expired (first caller wins) and re-dispatches it, to a connector not
   * tried yet unless `blameConnector` is false (the hub's own failure: the same connector may take it again).
   */
  async #settle(
    org: string,
    jobId: string,
    state: "failed" | "expired",
    { code, error }: { code: string; error: string },
    expected?: string,
    { blameConnector = true }: { blameConnector?: boolean } = {},
  ) {
    const { kv } = this.#o;
    const key = ["connector_job", org, jobId];
    const entry = await kv.get<JobRecord>(key);
    const job = entry.value;
    if (!job || job.state !== "pending" || (expected && entry.versionstamp !== expected)) return;
    const op = kv.atomic().check(entry).set(key, { ...job, state, error }, { expireIn: JOB_TTL });
    const retry = job.attempt + 1 < MAX_ATTEMPTS;
    if (retry) {
      this.#o.queue.stage(op, {
        kind: "sla.dispatch",
        payload: {
          filter: job.filter,
          poll: job.poll,
          attempt: job.attempt + 1,
          tried: blameConnector ? job.tried : job.tried.filter((id) => id !== job.connectorId),
        },
        org,
      });
    }
    if (!(await op.commit()).ok) return;
    const lastJob: LastJob = {
      id: job.id,
      action: "tickets.query",
      filter: job.filter,
      at: new Date(this.#o.now()).toISOString(),
      outcome: state,
      error: `${code}: ${error}`,
    };
    await this.#o.registry.setStatus(org, job.connectorId, { lastJob, lastError: `${code}: ${error}` });
    if (!retry) await this.#setPollState(org, "failing", { lastError: error });
    const record = await this.#o.registry.get(org, job.connectorId);
    await this.#o.events.publish(org, "connector.job.failed", {
      connectorId: job.connectorId,
      name: record?.name ?? job.connectorId,
      jobId: job.id,
      action: "tickets.query",
      filter: job.filter,
      code,
      error,
      willRetry: retry,
    });
    this.#o.log.info("connector job failed", { jobId, state, error, retry });
  }

  async job(org: string, jobId: string): Promise<JobRecord | null> {
    return (await this.#o.kv.get<JobRecord>(["connector_job", org, jobId])).value;
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
