/**
 * The one test harness: builds the hub exactly as main.ts does — config, KV
 * (`:memory:`), the shared services, every capability of lib/capabilities.ts,
 * the queue listener, the capabilities' start hooks — plus, unless
 * `http: false`, the app on 127.0.0.1 with a random port. The first
 * organization and its owner token exist (SHLYUZ_ADMIN_TOKEN). It names no
 * capability: per-capability test seams go in `options` (typed from the list).
 */
import { testConfig } from "../../lib/config.ts";
import { openHub } from "../../lib/boot.ts";
import type { Hub } from "../../lib/hub.ts";
import { type CapabilityOptions, registerCapabilities } from "../../lib/capabilities.ts";
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
  /** The app itself, for `app.request()` without a server. */
  app: ReturnType<typeof createApp>;
  /** The one-time setup link, when started with `owner: false`. */
  setupUrl?: string;
  /** The app's base URL; throws when started with `http: false`. */
  url: string;
  org: string;
  ownerToken: string;
  log: Logger & { lines: string[] };
  /** A fresh token of `role` in the test organization. */
  tokenFor(role: Role): Promise<string>;
  /** fetch against the hub with the owner token (or `token`), JSON body when `json` is given. */
  api(path: string, init?: RequestInit & { json?: unknown; token?: string | null }): Promise<Response>;
  /** Committed enqueues so far (the queue counts them in the same atomic commit). */
  enqueued(): Promise<number>;
  close(): Promise<void>;
}

export interface TestHubOptions {
  env?: Record<string, string>;
  fetch?: FetchFn;
  clock?: Clock;
  /** Serve the app on a random port (default true). */
  http?: boolean;
  /** Run the queue listener (default true); without it a test drives `hub.queue.handle` itself. */
  listen?: boolean;
  /** Per-capability test seams, e.g. `{ enrichment: { enrich } }`. */
  options?: CapabilityOptions;
  /** Create the first organization and its owner token (default true); false leaves the setup link. */
  owner?: boolean;
  /** A fixed port (a restarted hub that agents find again); default a random one. */
  port?: number;
}

export async function startTestHub(
  { env = {}, fetch, clock, http = true, listen = true, options = {}, owner = true, port = 0 }: TestHubOptions = {},
): Promise<TestHub> {
  const config = testConfig({ ...(owner ? { SHLYUZ_ADMIN_TOKEN: OWNER_TOKEN } : {}), ...env });
  const log = memoryLogger(config.SHLYUZ_LOG_LEVEL === "debug" ? "debug" : "info");
  const opened = await openHub(config, { log, fetch, clock });
  const hub = await registerCapabilities(opened.hub, options);
  const app = createApp(hub);
  const listening = listen ? hub.queue.listen() : null;
  await hub.start(); // as main.ts does, after the listener
  const server = http ? Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, app.fetch) : null;
  const base = server ? `http://127.0.0.1:${server.addr.port}` : null;
  const org = opened.boot.org?.id ?? "";
  return {
    hub,
    app,
    setupUrl: opened.boot.setupUrl,
    get url(): string {
      if (!base) throw new Error("Cannot use url: the test hub was started with http: false");
      return base;
    },
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
      if (!base) throw new Error("Cannot call the API: the test hub was started with http: false");
      const { json, token = OWNER_TOKEN, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token) headers.set("authorization", `Bearer ${token}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      return globalThis.fetch(base + path, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
    },
    async enqueued() {
      return Number((await hub.kv.get<Deno.KvU64>(["qstat", "enqueued"])).value?.value ?? 0n);
    },
    async close() {
      hub.beginShutdown();
      await server?.shutdown();
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

/** Polls `cond` until true (or throws after `timeoutMs`, naming `what`). */
export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = "condition") {
  await eventually(cond, { timeoutMs }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}
