/**
 * Starts the real app for a test: in-memory KV, queue listener running,
 * HTTP on 127.0.0.1 with a random port, an organization with an owner token.
 */
import { testConfig } from "../../lib/config.ts";
import { openHub } from "../../lib/boot.ts";
import type { Hub } from "../../lib/hub.ts";
import { registerCrons, registerJobs } from "../../jobs/mod.ts";
import { createApp } from "../../routes/app.ts";
import { createToken, OPERATOR_BINDING } from "../../lib/accounts/tokens.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import type { Role } from "../../lib/accounts/roles.ts";
import { type Logger, memoryLogger } from "../../lib/log.ts";
import type { FetchFn } from "../../lib/http/request.ts";
import type { Clock } from "../../lib/clock.ts";

export const OWNER_TOKEN = "shz_test_owner_token_0123456789abcdef";

export interface TestHub {
  hub: Hub;
  url: string;
  org: string;
  ownerToken: string;
  log: Logger & { lines: string[] };
  /** A fresh token of `role` in the test organization. */
  tokenFor(role: Role): Promise<string>;
  /** fetch against the hub with the owner token (or `token`), JSON body when `json` is given. */
  api(path: string, init?: RequestInit & { json?: unknown; token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestHub(
  { env = {}, fetch, clock, crons = false }: {
    env?: Record<string, string>;
    fetch?: FetchFn;
    clock?: Clock;
    crons?: boolean;
  } = {},
): Promise<TestHub> {
  const config = testConfig({ SHLYUZ_ADMIN_TOKEN: OWNER_TOKEN, ...env });
  const log = memoryLogger(config.SHLYUZ_LOG_LEVEL === "debug" ? "debug" : "info");
  const { hub, boot } = await openHub(config, { log, fetch, clock });
  registerJobs(hub);
  if (crons) registerCrons(hub);
  const app = createApp(hub);
  const listening = hub.queue.listen();
  await hub.enrichment?.start(); // as main.ts does
  await hub.notify?.start();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const org = boot.org!.id;
  return {
    hub,
    url,
    org,
    ownerToken: OWNER_TOKEN,
    log,
    async tokenFor(role) {
      return (await createToken(hub.kv, org, { name: `test ${role}`, role }, {
        actor: SYSTEM_ACTOR,
        boundTo: OPERATOR_BINDING,
      })).value;
    },
    api(path, init = {}) {
      const { json, token = OWNER_TOKEN, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token) headers.set("authorization", `Bearer ${token}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      return globalThis.fetch(url + path, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
    },
    async close() {
      hub.beginShutdown();
      await server.shutdown();
      await hub.close();
      await listening;
    },
  };
}

/** Polls `check` until it returns a truthy value or the time runs out (for queue-driven outcomes). */
export async function eventually<T>(check: () => Promise<T> | T, { timeoutMs = 5000, everyMs = 20 } = {}): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`Condition not met within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
}
