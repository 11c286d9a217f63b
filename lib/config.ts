/**
 * Every environment variable Shlyuz reads, in one zod schema. The names are a
 * contract with operators and scripts (see README). Nothing else in the code
 * reads `Deno.env`.
 */
import { z } from "zod";
import { type Cidr, parseCidr } from "./http/cidr.ts";

const optionalString = z.string().trim().min(1).optional().catch(undefined);
const emptyAsUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUndefined, schema.optional());
const httpUrl = z.string().url().refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL");
const bool = z.preprocess(
  emptyAsUndefined,
  z.enum(["1", "0", "true", "false", "yes", "no"]).optional().transform((v) =>
    v === "1" || v === "true" || v === "yes"
  ),
);
const positiveInt = (def: number) => z.preprocess(emptyAsUndefined, z.coerce.number().int().positive().default(def));

export const configSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(8000)),
  HOST: z.preprocess(emptyAsUndefined, z.string().default("127.0.0.1")),
  PUBLIC_URL: opt(httpUrl),
  SHLYUZ_KV_PATH: opt(z.string()),
  SHLYUZ_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default("./data")),
  SHLYUZ_SECRET_KEY: opt(
    z.string().refine((s) => {
      try {
        return atob(s).length === 32;
      } catch {
        return false;
      }
    }, "must be 32 bytes in base64 (openssl rand -base64 32)"),
  ),
  SHLYUZ_ADMIN_EMAIL: opt(z.string().email()),
  SHLYUZ_ADMIN_PASSWORD: opt(z.string().min(10, "must be at least 10 characters")),
  SHLYUZ_ADMIN_TOKEN: opt(z.string().min(24, "must be at least 24 characters")),
  /** Bearer token for GET /metrics; unset: /metrics answers loopback peers only. */
  SHLYUZ_METRICS_TOKEN: opt(z.string().min(24, "must be at least 24 characters")),
  SHLYUZ_ORG_NAME: z.preprocess(emptyAsUndefined, z.string().default("Shlyuz")),
  SHLYUZ_TIMEZONE: z.preprocess(
    emptyAsUndefined,
    z.string().default("Europe/Moscow").refine(isTimeZone, "must be an IANA time zone such as Europe/Moscow"),
  ),
  SHLYUZ_LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(["debug", "info", "warn", "error"]).default("info")),
  SHLYUZ_BODY_LIMIT: positiveInt(1024 * 1024),
  /** The 1C intake carries files as base64 in JSON: its own, larger limit. */
  SHLYUZ_ONEC_BODY_LIMIT: positiveInt(32 * 1024 * 1024),
  SHLYUZ_SESSION_TTL_HOURS: positiveInt(12),
  /**
   * Reverse proxies whose X-Forwarded-For is believed (comma-separated
   * addresses or IPv4 CIDR ranges). Empty: the socket's peer is the client.
   */
  SHLYUZ_TRUSTED_PROXIES: z.preprocess(
    emptyAsUndefined,
    z.string().default("").transform((s, ctx) => {
      const entries = s.split(",").map((p) => p.trim()).filter(Boolean);
      const bad = entries.find((e) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(e));
      if (bad) {
        ctx.addIssue({ code: "custom", message: `${bad} is not an IP address or CIDR range` });
        return z.NEVER;
      }
      return entries;
    }),
  ),
  SHLYUZ_EVENT_RETENTION_HOURS: positiveInt(24),
  SHLYUZ_SSE_HEARTBEAT_MS: positiveInt(15_000),
  /**
   * An event of an unknown type or with data that breaks its schema throws
   * (tests, `deno task dev`) instead of being logged and dropped (production).
   */
  SHLYUZ_EVENTS_STRICT: bool,
  /** Waits between queue attempts, ms, comma-separated. */
  SHLYUZ_QUEUE_BACKOFF_MS: z.preprocess(
    emptyAsUndefined,
    z.string().default("1000,5000,30000,60000,300000").transform((s, ctx) => {
      const parts = s.split(",").map((p) => Number(p.trim()));
      if (parts.some((n) => !Number.isInteger(n) || n < 0)) {
        ctx.addIssue({ code: "custom", message: "must be comma-separated whole milliseconds" });
        return z.NEVER;
      }
      return parts;
    }),
  ),
  SHLYUZ_DISABLE_CRON: bool,
  /** Largest body of a scheduled HTTP action, in bytes (kept in KV with the schedule). */
  SHLYUZ_SCHEDULER_BODY_LIMIT: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(49_152).default(16_384),
  ),
  /** How much of a response body each scheduled run keeps, in bytes. */
  SHLYUZ_SCHEDULER_RESPONSE_LIMIT: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).max(49_152).default(16_384),
  ),
  /**
   * The largest mail a mailbox downloads, bytes (RFC822.SIZE / POP3 LIST, and the bytes actually read). A
   * larger one still becomes a `mail.received` event, from its headers only, marked `oversized`.
   */
  SHLYUZ_MAIL_MAX_MESSAGE_BYTES: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1024, "must be at least 1024 bytes").default(25 * 1024 * 1024),
  ),
  /** How long run history is kept, in days. */
  SHLYUZ_SCHEDULER_RUN_RETENTION_DAYS: positiveInt(30),
  /**
   * The operator's ceiling for private networks: `off` (no organization may
   * reach them), `on` (organizations that allow it may reach any), or a
   * comma-separated list of CIDR ranges they may reach at most.
   */
  SHLYUZ_ALLOW_PRIVATE_NETWORKS: z.preprocess(
    emptyAsUndefined,
    z.string().default("off").transform((s, ctx): boolean | Cidr[] => {
      const value = s.trim().toLowerCase();
      if (value === "off") return false;
      if (value === "on") return true;
      const ranges: Cidr[] = [];
      for (const part of s.split(",")) {
        const range = parseCidr(part);
        if (!range) {
          ctx.addIssue({
            code: "custom",
            message:
              `must be off, on or comma-separated CIDR ranges such as 10.0.0.0/8,fd00::/8; "${part.trim()}" is none`,
          });
          return z.NEVER;
        }
        ranges.push(range);
      }
      return ranges;
    }),
  ),
  /** Set by Deno Deploy; there KV is managed and nothing may be written to local files. */
  DENO_DEPLOYMENT_ID: optionalString,
  DATABASE_URL: opt(z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")),
  AMQP_URL: opt(z.string().regex(/^amqps?:\/\//, "must be an amqp:// URL")),
  AMQP_TASK_QUEUE: z.preprocess(emptyAsUndefined, z.string().default("TaskProcessingQueue")),
  AMQP_RESULT_QUEUE: z.preprocess(emptyAsUndefined, z.string().default("TaskResultDeliveryQueue")),
  /** Organization whose tasks the RabbitMQ bridge carries. Default: the first organization. */
  AMQP_ORG: optionalString,
  /** Enrichment: per-attempt timeout of DaData/YandexGPT calls (ms), retries per call, upstream calls at once. */
  ENRICH_TIMEOUT_MS: positiveInt(10_000),
  ENRICH_RETRIES: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(10).default(3)),
  ENRICH_CONCURRENCY: positiveInt(64),
  /** Postgres schema of the enrichment sink (created when missing). Default: the connection's search_path. */
  ENRICH_PG_SCHEMA: opt(z.string().regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case SQL identifier")),
  DADATA_API_KEY: optionalString,
  DADATA_SECRET_KEY: optionalString,
  DADATA_BASE_URL: z.preprocess(emptyAsUndefined, httpUrl.default("https://cleaner.dadata.ru")),
  YANDEXGPT_API_KEY: optionalString,
  YANDEXGPT_FOLDER_ID: optionalString,
  YANDEXGPT_MODEL: z.preprocess(emptyAsUndefined, z.string().default("yandexgpt-lite/latest")),
  YANDEXGPT_BASE_URL: z.preprocess(emptyAsUndefined, httpUrl.default("https://llm.api.cloud.yandex.net")),
  BITRIX_WEBHOOK: opt(httpUrl),
  TELEGRAM_API_ROOT: z.preprocess(emptyAsUndefined, httpUrl.default("https://api.telegram.org")),
  SLA_INTERVAL: positiveInt(300),
  FILTER_ARREARS: optionalString,
  FILTER_STOPPED: optionalString,
  /** How long a connector has to answer one ticket query, seconds; then another connector is asked. */
  SLA_DEADLINE_SEC: positiveInt(60),
  /** Heartbeat period of connector sockets, ms (a socket silent for three periods is closed). */
  CONNECTOR_HEARTBEAT_MS: positiveInt(15_000),
  /** Jobs in flight per connector, and frames per second a connector may send. */
  CONNECTOR_MAX_PENDING: positiveInt(4),
  CONNECTOR_MAX_FRAMES_PER_SEC: positiveInt(20),
  /**
   * Agent sockets one remote address may hold open in one hub process, and
   * how many of them may be in their handshake at once (the address is the
   * one SHLYUZ_TRUSTED_PROXIES resolves).
   */
  CONNECTOR_MAX_SOCKETS_PER_ADDRESS: positiveInt(256),
  CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS: positiveInt(32),
}).superRefine((c, ctx) => {
  // Half of the pair would create an organization without an owner and never print the setup link.
  if (c.SHLYUZ_ADMIN_EMAIL && !c.SHLYUZ_ADMIN_PASSWORD) {
    ctx.addIssue({
      code: "custom",
      path: ["SHLYUZ_ADMIN_PASSWORD"],
      message: "required when SHLYUZ_ADMIN_EMAIL is set",
    });
  }
  if (c.SHLYUZ_ADMIN_PASSWORD && !c.SHLYUZ_ADMIN_EMAIL) {
    ctx.addIssue({
      code: "custom",
      path: ["SHLYUZ_ADMIN_EMAIL"],
      message: "required when SHLYUZ_ADMIN_PASSWORD is set",
    });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses the environment. A bad value throws ConfigError with one line per
 * variable: "Invalid configuration: PORT: expected number, received NaN".
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${lines.join("; ")}`);
  }
  return parsed.data;
}

/**
 * A config for tests: in-memory KV, no cron, fast retries, and a loopback-only
 * private-network ceiling so the local fakes on 127.0.0.1 can be reached by
 * organizations that allow private networks.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    SHLYUZ_KV_PATH: ":memory:",
    SHLYUZ_SECRET_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(7))),
    SHLYUZ_DISABLE_CRON: "1",
    SHLYUZ_QUEUE_BACKOFF_MS: "20,40",
    SHLYUZ_LOG_LEVEL: "error",
    PORT: "0",
    SHLYUZ_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
    SHLYUZ_EVENTS_STRICT: "1",
    ...overrides,
  });
}
