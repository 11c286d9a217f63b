/**
 * The hub side of the connector benchmark, in its own process so its RSS is
 * the hub's alone. Prints `READY <url> <token>`; then answers lines on stdin:
 * `rss` → its RSS in bytes; `rtt <n>` → round-trip times (ms) of n ping jobs
 * spread over the connected connectors, as JSON; `mem` → a full GC (run with
 * `--v8-flags=--expose-gc`), then `Deno.memoryUsage()` as JSON.
 */
// deno-lint-ignore-file no-console
import { startTestHub } from "../helpers/hub.ts";

// All the benchmark's agents dial from 127.0.0.1: one address, so its caps are raised to hold them all at once.
const t = await startTestHub({
  env: {
    CONNECTOR_MAX_FRAMES_PER_SEC: "1000",
    CONNECTOR_MAX_PENDING: "64",
    CONNECTOR_MAX_SOCKETS_PER_ADDRESS: "100000",
    CONNECTOR_MAX_HANDSHAKES_PER_ADDRESS: "100000",
  },
});
const svc = t.hub.connectors;
const waiting = new Map<string, (ms: number) => void>();
const original = svc.dispatcher.result.bind(svc.dispatcher);
// Ping results are the benchmark's own: timed here, everything else goes on as usual.
svc.dispatcher.result = (org, connectorId, frame) => {
  const done = waiting.get(frame.id);
  if (done) {
    waiting.delete(frame.id);
    done(performance.now());
    return Promise.resolve();
  }
  return original(org, connectorId, frame);
};
console.log(`READY ${t.url} ${t.ownerToken} ${t.org}`);

for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  for (const cmd of line.split("\n").filter(Boolean)) {
    const [name, arg] = cmd.split(" ");
    if (name === "rss") console.log(`RSS ${Deno.memoryUsage().rss}`);
    if (name === "mem") {
      (globalThis as { gc?: () => void }).gc?.();
      console.log(`MEM ${JSON.stringify(Deno.memoryUsage())}`);
    }
    if (name === "rtt") {
      const ids = (await svc.registry.list(t.org)).filter((c) => c.status.state === "online").map((c) => c.id);
      const times: number[] = [];
      const n = Number(arg);
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => {
          const id = `bench-${i + j}`;
          const started = performance.now();
          return new Promise<void>((resolve) => {
            waiting.set(id, (end) => {
              times.push(end - started);
              resolve();
            });
            svc.server.sendLocal(ids[(i + j) % ids.length], {
              t: "job",
              id,
              action: "ping",
              params: {},
              deadline: Date.now() + 30_000,
            });
          });
        }));
      }
      console.log(`RTT ${JSON.stringify(times)}`);
    }
    if (name === "quit") {
      await t.close();
      Deno.exit(0);
    }
  }
}
