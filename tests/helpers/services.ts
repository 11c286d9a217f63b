/**
 * Real services for integration tests. A test that needs an absent service
 * is skipped with a clear message, unless SHLYUZ_REQUIRE_SERVICES=1, when the
 * absence fails the run (CI sets it).
 */

export const requireServices = Deno.env.get("SHLYUZ_REQUIRE_SERVICES") === "1";

/** True when the service answers `probe`; otherwise false (skip) or throws (required). */
export async function serviceOrSkip(name: string, probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    if (requireServices) throw new Error(`${name} is required (SHLYUZ_REQUIRE_SERVICES=1) but unavailable: ${why}`);
    // deno-lint-ignore no-console
    console.warn(`skipping: ${name} is not available (${why})`);
    return false;
  }
}

/** Probes a TCP port on 127.0.0.1. */
export async function tcpProbe(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.close();
}

export const POSTGRES_URL = Deno.env.get("SHLYUZ_TEST_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
export const AMQP_URL = Deno.env.get("SHLYUZ_TEST_AMQP_URL") ?? "amqp://guest:guest@127.0.0.1:5672";
