/** Shared fault switches for the fakes of DaData and YandexGPT. */

export interface FaultSwitches {
  /** Added to every answer, ms. */
  latencyMs: number;
  /** Share of calls (0..1) answered with HTTP 500/502/503. */
  failRate: number;
  /** Share of calls that hang for `hangMs` (longer than the client's timeout). */
  hangRate: number;
  hangMs: number;
  /** Share of calls answered 200 with a body that is not JSON. */
  malformedRate: number;
  /** Share of calls answered 429. */
  rateLimitRate: number;
  /** The next N calls answer this status (then normal again). */
  failNext: number;
  failNextStatus: number;
  /** Every call answers this status until cleared (e.g. 403 for "key revoked"). */
  forceStatus: number | null;
}

export function defaultFaults(): FaultSwitches {
  return {
    latencyMs: 0,
    failRate: 0,
    hangRate: 0,
    hangMs: 5000,
    malformedRate: 0,
    rateLimitRate: 0,
    failNext: 0,
    failNextStatus: 503,
    forceStatus: null,
  };
}

export type Fault =
  | { kind: "none" }
  | { kind: "status"; status: number }
  | { kind: "hang" }
  | { kind: "malformed" };

/** Picks this call's fault (at most one). */
export function pickFault(f: FaultSwitches, random: () => number): Fault {
  if (f.forceStatus !== null) return { kind: "status", status: f.forceStatus };
  if (f.failNext > 0) {
    f.failNext--;
    return { kind: "status", status: f.failNextStatus };
  }
  const r = random();
  let edge = f.failRate;
  if (r < edge) return { kind: "status", status: [500, 502, 503][Math.floor(random() * 3)] };
  if (r < (edge += f.hangRate)) return { kind: "hang" };
  if (r < (edge += f.malformedRate)) return { kind: "malformed" };
  if (r < (edge += f.rateLimitRate)) return { kind: "status", status: 429 };
  return { kind: "none" };
}

/** A sleep that ends early when the fake closes, so tests never leak timers. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Starts a Hono app on 127.0.0.1 at `port` (0 = any). */
export function serve(
  fetch: (req: Request) => Response | Promise<Response>,
  port = 0,
): { url: string; server: Deno.HttpServer<Deno.NetAddr> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, server };
}
