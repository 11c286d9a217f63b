/**
 * The shapes of the Scheduler: what a client sends to save a schedule, what
 * is stored, what a run records and what a `schedule.fire` message carries.
 */
import { z } from "zod";
import { cronProblem, isTimeZone } from "./occurrences.ts";

/** Header names whose values are sealed at rest and masked in answers, even if not listed in `secretHeaders`. */
export const SECRET_HEADER = /authorization|token|secret|api[-_]?key|password|cookie|signature|credential/i;
/** What answers show instead of a secret header value; sending it back keeps the stored value. */
export const MASK = "••••";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] as const;

/** Limits that come from the configuration. */
export interface ScheduleLimits {
  /** Largest HTTP action body, in UTF-8 bytes. */
  bodyLimit: number;
}

export const cronSchema = z.string().trim().superRefine((v, ctx) => {
  const problem = cronProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: `invalid cron expression: ${problem}` });
});

export const timeZoneSchema = z.string().trim().refine(
  isTimeZone,
  "unknown time zone: use an IANA name such as Europe/Moscow or UTC",
);

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "not a valid HTTP header name");

/** Builds the schema of the HTTP action with the configured body limit. */
export function httpActionSchema({ bodyLimit }: ScheduleLimits) {
  return z.object({
    type: z.literal("http"),
    method: z.enum(HTTP_METHODS).default("POST"),
    url: z.string().trim().superRefine((v, ctx) => {
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        ctx.addIssue({ code: "custom", message: "must be an absolute http(s) URL" });
        return;
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") {
        ctx.addIssue({ code: "custom", message: `must be an http(s) URL, not ${u.protocol.replace(":", "")}` });
      }
    }),
    headers: z.record(headerName, z.string().max(8192)).default({}),
    /** Header names to keep secret in addition to the ones that look secret (Authorization, *token*, *key* …). */
    secretHeaders: z.array(headerName).default([]),
    body: z.string().optional().superRefine((v, ctx) => {
      if (v === undefined) return;
      const bytes = new TextEncoder().encode(v).length;
      if (bytes > bodyLimit) {
        ctx.addIssue({ code: "custom", message: `is ${bytes} bytes; the limit is ${bodyLimit} bytes` });
      }
    }),
  });
}

export const internalActionSchema = z.object({
  type: z.literal("internal"),
  /** A Shlyuz job kind, e.g. `mail.poll`; checked against the registered handlers at save time. */
  job: z.string().trim().min(1),
  payload: z.record(z.string(), z.unknown()).default({}),
});

export const retrySchema = z.object({
  /** Retries after the first attempt (0 = no retry). */
  attempts: z.number().int().min(0).max(10).default(0),
  /** First wait between attempts, doubled each time. */
  backoffMs: z.number().int().min(0).max(600_000).default(1000),
});

/** Builds the schema of a schedule as a client sends it. */
export function scheduleInputSchema(limits: ScheduleLimits) {
  return z.object({
    name: z.string().trim().min(1).max(200),
    cron: cronSchema,
    /** IANA zone; default: the organization's "general".timezone (SHLYUZ_TIMEZONE). */
    timezone: timeZoneSchema.optional(),
    enabled: z.boolean().default(true),
    action: z.discriminatedUnion("type", [httpActionSchema(limits), internalActionSchema]),
    /** `skip`: do not start a run while the previous one is still running. */
    overlap: z.enum(["skip", "allow"]).default("skip"),
    /** After downtime: `skip` missed occurrences, or run `once` to catch up. Both are recorded. */
    catchUp: z.enum(["skip", "once"]).default("skip"),
    retry: retrySchema.default({ attempts: 0, backoffMs: 1000 }),
    timeoutMs: z.number().int().min(100).max(300_000).default(30_000),
  });
}

export type ScheduleInput = z.infer<ReturnType<typeof scheduleInputSchema>>;
export type HttpActionInput = z.infer<ReturnType<typeof httpActionSchema>>;
export type InternalAction = z.infer<typeof internalActionSchema>;

/** A header as stored: secret values are sealed with the SecretBox. */
export interface StoredHeader {
  name: string;
  value: string;
  secret: boolean;
}

export interface StoredHttpAction {
  type: "http";
  method: (typeof HTTP_METHODS)[number];
  url: string;
  headers: StoredHeader[];
  body?: string;
}

export type StoredAction = StoredHttpAction | InternalAction;

/** A schedule as stored under `["sched", org, id]`. */
export interface Schedule {
  id: string;
  org: string;
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  action: StoredAction;
  overlap: "skip" | "allow";
  catchUp: "skip" | "once";
  retry: { attempts: number; backoffMs: number };
  timeoutMs: number;
  /** Bumped on every save; fires planned under an older revision are re-checked against the current cron. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** The HTTP action as answers show it: secret header values masked. */
export interface PublicHttpAction {
  type: "http";
  method: string;
  url: string;
  headers: Record<string, string>;
  secretHeaders: string[];
  body?: string;
}

export type PublicSchedule = Omit<Schedule, "action"> & {
  action: PublicHttpAction | InternalAction;
};

export type RunOutcome = "queued" | "running" | "ok" | "failed" | "timeout" | "skipped" | "missed";
export type RunTrigger = "schedule" | "catch_up" | "manual";

/** One run (or one record of missed occurrences) of a schedule. */
export interface Run {
  id: string;
  org: string;
  scheduleId: string;
  scheduleName: string;
  revision: number;
  timezone: string;
  trigger: RunTrigger;
  /** ISO times. */
  plannedAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  outcome: RunOutcome;
  /** Why a run failed, was skipped or missed, in words. */
  reason?: string;
  attempts?: number;
  httpStatus?: number;
  /** The response body, cut to the configured size. */
  responseBody?: string;
  responseBytes?: number;
  responseTruncated?: boolean;
  /** For internal actions: the id of the enqueued job. */
  jobId?: string;
  /** For "missed" records: how many occurrences were missed and the last one. */
  missedCount?: number;
  missedCountCapped?: boolean;
  lastMissedAt?: string;
  /** The queue message that carried the fire (to tell a redelivery from a duplicate). */
  envelopeId?: string;
}

/** A run without its response body, as run lists show it. */
export type RunSummary = Omit<Run, "responseBody">;

/** The payload of a `schedule.fire` message. */
export const firePayloadSchema = z.object({
  scheduleId: z.string().min(1),
  /** Epoch ms of the occurrence (for manual runs: when "Run now" was pressed). */
  plannedAt: z.number().int(),
  revision: z.number().int(),
  trigger: z.enum(["schedule", "catch_up", "manual"]).default("schedule"),
  /** Manual runs carry their run id, so the API can answer with it before the run starts. */
  runId: z.string().optional(),
});
export type FirePayload = z.infer<typeof firePayloadSchema>;
