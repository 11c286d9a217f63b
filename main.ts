/**
 * Shlyuz composition root: config → KV and the shared services → every
 * capability (lib/capabilities.ts) → HTTP app → queue listener → capabilities'
 * start hooks → server. Nothing else lives here.
 */
import { ConfigError, loadConfig } from "./lib/config.ts";
import { openHub } from "./lib/boot.ts";
import { registerCapabilities } from "./lib/capabilities.ts";
import { createApp } from "./routes/app.ts";
import { setupBanner } from "./lib/accounts/setup_banner.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // deno-lint-ignore no-console
  console.error(error.message);
  Deno.exit(1);
}

const opened = await openHub(config);
const hub = await registerCapabilities(opened.hub);
const app = createApp(hub);
const listening = hub.queue.listen();
// After the listener, and not awaited: a broker that is down must not keep the server from listening.
const started = hub.start();

const server = Deno.serve({
  hostname: config.HOST,
  port: config.PORT,
  onListen: ({ hostname, port }) => {
    hub.log.info("Shlyuz is listening", { url: `http://${hostname}:${port}` });
    // Last, and not as JSON: the one thing a person starting the hub for the first time has to find and open.
    // deno-lint-ignore no-console
    if (opened.boot.setupUrl) console.log(setupBanner(opened.boot.setupUrl));
  },
}, app.fetch);

async function shutdown() {
  hub.log.info("shutting down");
  hub.beginShutdown(); // end SSE streams, or server.shutdown() would wait for them forever
  await server.shutdown();
  await started;
  await hub.close();
  await listening.catch(() => {});
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
