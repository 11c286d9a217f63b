/**
 * Enrichment test fixtures on the one harness: fast retry rounds, the service, every result; a Postgres schema of
 * the test's own; the environment of the hub as a real process for the crash tests (tests/helpers/main_process.ts starts it).
 */
import postgres from "postgres";
import type { Clock } from "../../lib/clock.ts";
import type { EnrichmentOptions, EnrichmentService } from "../../lib/enrichment/mod.ts";
import { startTestHub, type TestHub } from "./hub.ts";
import { POSTGRES_URL, serviceOrSkip } from "./services.ts";

export { waitFor } from "./hub.ts";

/** A hub without HTTP whose enrichment retries within milliseconds; `svc` is `hub.enrichment`. */
export async function startHarness(
  { env = {}, options = {}, clock }: { env?: Record<string, string>; options?: EnrichmentOptions; clock?: Clock } = {},
): Promise<TestHub & { svc: EnrichmentService }> {
  const t = await startTestHub({
    http: false,
    env,
    clock,
    options: { enrichment: { retryBaseMs: 1, roundDelaysMs: [20, 40], ...options } },
  });
  return Object.assign(t, { svc: t.hub.enrichment });
}

/** Every result in the log. */
export async function allResults(svc: EnrichmentService, org: string) {
  const out = [];
  let after: string | undefined;
  for (;;) {
    const page = await svc.processor.results(org, { after, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1].cursor;
  }
}

/** Whether PostgreSQL answers (skips, or fails under SHLYUZ_REQUIRE_SERVICES=1, when it does not). */
export function postgresOrSkip(): Promise<boolean> {
  return serviceOrSkip("PostgreSQL", async () => {
    const sql = postgres(POSTGRES_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
    } finally {
      await sql.end();
    }
  });
}

/** Runs `fn` with a fresh schema name (`<prefix>_<random>`) and a connection; drops the schema afterwards. */
export async function withSchema(prefix: string, fn: (schema: string, sql: postgres.Sql) => Promise<void>) {
  const schema = `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
  const sql = postgres(POSTGRES_URL, { max: 2, onnotice: () => {} });
  try {
    await fn(schema, sql);
  } finally {
    await sql.unsafe(`drop schema if exists ${schema} cascade`);
    await sql.end();
  }
}

/** The environment of a crash-test hub on a file-backed KV in `dir`, against the DaData fake at `dadataUrl`. */
export function hubProcessEnv(
  { dir, port, token, dadataUrl, backoffMs }: {
    dir: string;
    port: number;
    token: string;
    dadataUrl: string;
    backoffMs: string;
  },
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    SHLYUZ_KV_PATH: `${dir}/hub.kv`,
    SHLYUZ_DATA_DIR: dir,
    PORT: String(port),
    SHLYUZ_ADMIN_TOKEN: token,
    SHLYUZ_SECRET_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(3))),
    SHLYUZ_DISABLE_CRON: "1",
    SHLYUZ_LOG_LEVEL: "error",
    SHLYUZ_QUEUE_BACKOFF_MS: backoffMs,
    DADATA_BASE_URL: dadataUrl,
    DADATA_API_KEY: "test-dadata-key",
    DADATA_SECRET_KEY: "test-dadata-secret",
    ENRICH_TIMEOUT_MS: "1000",
    ENRICH_RETRIES: "1",
    ENRICH_CONCURRENCY: "16",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return env;
}
