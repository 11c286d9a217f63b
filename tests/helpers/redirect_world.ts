/**
 * A small world for redirect tests: local servers that record what reached
 * them, and public-looking names (`allowed.test`, `other.test`) that the
 * address guard resolves to a public address while the test's fetch maps
 * them onto those servers — so only the guard decides what is refused.
 */
import type { AddressPolicy } from "../../lib/http/url_guard.ts";

export interface Seen {
  path: string;
  method: string;
  headers: Headers;
  body: string;
}

export interface RecordingServer {
  seen: Seen[];
  port: number;
  close(): Promise<void>;
}

/** A server on 127.0.0.1 that records every request and answers with `handle`. */
export function recordingServer(handle: (req: Request, seen: Seen[]) => Response): RecordingServer {
  const seen: Seen[] = [];
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const entry = { path: new URL(req.url).pathname, method: req.method, headers: req.headers, body: await req.text() };
    seen.push(entry);
    return handle(req, seen);
  });
  return { seen, port: s.addr.port, close: () => s.shutdown() };
}

/** A policy under which `*.test` names are public (private networks refused) and a fetch that sends them to `ports`. */
export function redirectWorld(
  ports: Record<string, number>,
): { policy: AddressPolicy; fetch: typeof globalThis.fetch } {
  const policy: AddressPolicy = {
    allowPrivate: false,
    resolve: (h) => Promise.resolve(h.endsWith(".test") ? ["93.184.216.34"] : []),
  };
  const fetch: typeof globalThis.fetch = (input, init) => {
    const u = new URL(String(input));
    const port = ports[u.hostname];
    if (port) {
      u.hostname = "127.0.0.1";
      u.port = String(port);
    }
    return globalThis.fetch(u, init);
  };
  return { policy, fetch };
}
