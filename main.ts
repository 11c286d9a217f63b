/**
 * Shlyuz composition root: config → KV and services → jobs and crons →
 * HTTP app → queue listener → server. Nothing else lives here.
 */
import { ConfigError, loadConfig } from "./lib/config.ts";
import { openHub } from "./lib/boot.ts";
import { registerCrons, registerJobs } from "./jobs/mod.ts";
import { createApp } from "./routes/app.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // deno-lint-ignore no-console
  console.error(error.message);
  Deno.exit(1);
}

const { hub } = await openHub(config);
registerJobs(hub);
registerCrons(hub);
const app = createApp(hub);
const listening = hub.queue.listen();
// After the listener: recovers batches a killed process had in flight, then connects the RabbitMQ bridge.
hub.enrichment?.start().catch((error) => hub.log.error("enrichment start failed", { error }));
hub.notify?.start().catch((error) => hub.log.error("notifications start failed", { error }));

const server = Deno.serve({
  hostname: config.HOST,
  port: config.PORT,
  onListen: ({ hostname, port }) => hub.log.info("Shlyuz is listening", { url: `http://${hostname}:${port}` }),
}, app.fetch);

async function shutdown() {
  hub.log.info("shutting down");
  hub.beginShutdown(); // end SSE streams, or server.shutdown() would wait for them forever
  await server.shutdown();
  await hub.close();
  await listening.catch(() => {});
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
