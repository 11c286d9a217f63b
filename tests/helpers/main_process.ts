/**
 * main.ts as a process of its own: for the tests of start-up and shutdown
 * (bad config, the SETUP banner, SIGTERM) and the crash tests that kill the
 * hub with SIGKILL. It runs with V8's default flags, not `deno task start`'s
 * memory profile (tests/bench/load.ts applies that where memory is measured).
 */

/** The repository root, so deno.json (imports, unstable flags) and relative paths resolve as in production. */
const ROOT = new URL("../../", import.meta.url).pathname;

/** A running (or finished) main.ts. */
export interface MainProcess {
  child: Deno.ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** The exit status, once the process has ended and its stderr has been read to the end. */
  done: Promise<Deno.CommandStatus>;
  /** Sends `signal` (unless the process has ended) and waits for `done`. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `deno run -A main.ts` from the repository root with `env` added to
 * this process's environment. stderr is always read (a chatty child never
 * blocks on a full pipe); stdout is dropped unless `stdout: "piped"`, when
 * the caller reads `child.stdout`.
 *
 * @example
 * ```ts
 * const main = spawnMain({ PORT: "not-a-port", SHLYUZ_KV_PATH: ":memory:" });
 * const { code } = await main.done;
 * ```
 */
export function spawnMain(
  env: Record<string, string>,
  { stdout = "null" }: { stdout?: "null" | "piped" } = {},
): MainProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout,
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (stderr += chunk) }),
  ).catch(() => {});
  let ended = false;
  const done = Promise.all([child.status, reading]).then(([status]) => {
    ended = true;
    return status;
  });
  return {
    child,
    stderr: () => stderr,
    done,
    stop(signal = "SIGTERM") {
      if (!ended) {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      }
      return done;
    },
  };
}

/**
 * Spawns main.ts (see spawnMain) and waits until `${url}/ping/` answers; a
 * process that does not answer within `timeoutMs` (or exits) is killed and
 * the error carries the end of its stderr.
 */
export async function startMain(
  env: Record<string, string>,
  { url, timeoutMs = 20_000 }: { url: string; timeoutMs?: number },
): Promise<MainProcess> {
  const main = spawnMain(env);
  let exited = false;
  main.done.then(() => exited = true);
  const end = Date.now() + timeoutMs;
  while (!exited && Date.now() < end) {
    try {
      const r = await fetch(`${url}/ping/`);
      await r.body?.cancel();
      if (r.ok) return main;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await main.stop("SIGKILL");
  throw new Error(`main.ts did not answer ${url}/ping/: ${main.stderr().slice(-2000)}`);
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
