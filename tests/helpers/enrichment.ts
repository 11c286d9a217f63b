/**
 * Enrichment test fixtures on the one harness: fast retry rounds, the service, every result; a Postgres schema of
 * the test's own; the hub as a real process for the crash tests.
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

/** A hub running main.ts as its own process (crash tests kill it with SIGKILL). */
export interface HubProcess {
  child: Deno.ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Kills the process with `signal` (unless it is gone) and waits until it and its stderr have ended. */
  stop(signal: Deno.Signal): Promise<void>;
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

/** Starts main.ts with `env` (from the repository root) and waits until `/ping/` answers on `base`. */
export async function startHubProcess(env: Record<string, string>, base: string): Promise<HubProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: new URL("../../", import.meta.url).pathname,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = child.stderr.pipeTo(
    new WritableStream({ write: (c) => void (stderr += new TextDecoder().decode(c)) }),
  ).catch(() => {});
  const hub: HubProcess = {
    child,
    stderr: () => stderr,
    async stop(signal) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
      await child.status;
      await reading;
    },
  };
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${base}/ping/`);
      await r.body?.cancel();
      if (r.ok) return hub;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await hub.stop("SIGKILL");
  throw new Error(`the hub did not start: ${stderr.slice(-2000)}`);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
