/**
 * `deno task connector`: the agent's command line. Configured by the
 * replaced service's environment names (TOKEN, KEY, SERVER, URL, EMAIL,
 * PASSWORD, INTERVAL, FILTER_ARREARS, FILTER_STOPPED) plus CONNECTOR_ID, and
 * optionally TICKET_MAPPING (JSON field mapping, see http_adapter.ts).
 * Stops cleanly on SIGINT/SIGTERM.
 */
// deno-lint-ignore-file no-console
import { z } from "zod";
import { Agent, AGENT_VERSION } from "./agent.ts";
import { HttpTicketAdapter, mappingSchema } from "./http_adapter.ts";

const envSchema = z.object({
  CONNECTOR_ID: z.string({ error: "required: the connector's id from the hub (con_…)" }).min(
    1,
    "required: the connector's id from the hub (con_…)",
  ),
  TOKEN: z.string({ error: "required: the connector's token from the hub" }).min(
    1,
    "required: the connector's token from the hub",
  ),
  KEY: z.string({ error: "required: the connector's key from the hub" }).min(
    1,
    "required: the connector's key from the hub",
  ),
  SERVER: z.string({ error: "required: the hub's URL, e.g. wss://hub.example.com/connectors/ws" })
    .url("must be the hub's URL, e.g. wss://hub.example.com/connectors/ws"),
  URL: z.string({ error: "required: the ticket system's base URL" }).url("must be the ticket system's base URL"),
  EMAIL: z.string({ error: "required: the ticket system login" }).min(1, "required: the ticket system login"),
  PASSWORD: z.string({ error: "required: the ticket system password" }).min(1, "required: the ticket system password"),
  INTERVAL: z.coerce.number().int().min(10).max(86_400).optional(),
  FILTER_ARREARS: z.string().min(1).optional(),
  FILTER_STOPPED: z.string().min(1).optional(),
  TICKET_MAPPING: z.string().optional(),
});

/** Parses the environment; one line per bad variable. */
export function agentConfig(env: Record<string, string | undefined>) {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));
  }
  const c = parsed.data;
  let mapping = {};
  if (c.TICKET_MAPPING) {
    try {
      mapping = mappingSchema.partial().parse(JSON.parse(c.TICKET_MAPPING));
    } catch (error) {
      throw new Error(
        `TICKET_MAPPING: must be a JSON field mapping (${error instanceof Error ? error.message : error})`,
      );
    }
  }
  return { ...c, mapping };
}

if (import.meta.main) {
  let config;
  try {
    config = agentConfig(Deno.env.toObject());
  } catch (error) {
    console.error(`connector: invalid configuration:\n${(error as Error).message}`);
    Deno.exit(2);
  }
  const adapter = new HttpTicketAdapter({
    baseUrl: config.URL,
    email: config.EMAIL,
    password: config.PASSWORD,
    mapping: config.mapping,
  });
  const agent = new Agent({
    server: config.SERVER,
    connectorId: config.CONNECTOR_ID,
    token: config.TOKEN,
    key: config.KEY,
    adapter,
    intervalSec: config.INTERVAL,
    filters: { arrears: config.FILTER_ARREARS, stopped: config.FILTER_STOPPED },
    print: (line) => console.log(`${new Date().toISOString()} connector: ${line}`),
  });
  console.log(`${new Date().toISOString()} connector ${AGENT_VERSION}: dialing ${config.SERVER}`);
  if (config.INTERVAL) {
    // The replaced service polled on its clients' INTERVAL; here the hub's organization setting decides.
    console.log(
      `${new Date().toISOString()} connector: INTERVAL=${config.INTERVAL} is shown on the hub; ` +
        `polls come on the organization's interval (Connectors & SLA page, or PUT /api/v1/sla/settings)`,
    );
  }
  agent.start();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log(`${new Date().toISOString()} connector: stopping`);
    await agent.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
