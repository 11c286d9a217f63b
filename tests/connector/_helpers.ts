/**
 * Shared helpers of the connector tests: a connector created through the API,
 * a raw WebSocket client, real agents against the fake ticket system with
 * the hub around them (`withAgents`), and waiting on events.
 */
import { eventually, startTestHub, type TestHub, type TestHubOptions } from "../helpers/hub.ts";
import {
  FAKE_USER,
  startTicketSystemFake,
  type TicketSystemFake,
  type TicketSystemFakeOptions,
} from "../fakes/ticket_system.ts";
import { proveChallenge } from "../../lib/connector/protocol.ts";
import { type ConnectorsOptions, createConnectors } from "../../lib/connector/mod.ts";
import type { CoreHub } from "../../lib/hub.ts";
import type { HubEvent } from "../../lib/events/types.ts";
import { Agent, type AgentOptions } from "../../lib/connector/agent.ts";
import { HttpTicketAdapter } from "../../lib/connector/http_adapter.ts";
import type { TicketAdapter } from "../../lib/connector/adapter.ts";
import type { JobRecord } from "../../lib/connector/dispatch.ts";

export interface Creds {
  connectorId: string;
  token: string;
  key: string;
}

export async function createConnector(t: TestHub, name = "Цех 1", extra: Record<string, unknown> = {}): Promise<Creds> {
  const res = await t.api("/api/v1/connectors", { method: "POST", json: { name, ...extra } });
  if (res.status !== 201) throw new Error(`create connector: ${res.status} ${await res.text()}`);
  return (await res.json()).credentials;
}

/** The agent's answer to challenge `nonce` under `creds` (`overrides` change its fields). */
/** A test hub with one connector created in it; closed after `fn`. */
export async function withConnectorHub(
  fn: (t: TestHub, creds: Creds) => Promise<void>,
  opts: TestHubOptions = {},
) {
  const t = await startTestHub(opts);
  try {
    await fn(t, await createConnector(t));
  } finally {
    await t.close();
  }
}

export function authFrame(creds: Creds, nonce: string, overrides: Record<string, unknown> = {}) {
  return {
    t: "auth",
    v: 1,
    connectorId: creds.connectorId,
    token: creds.token,
    nonce,
    mac: proveChallenge(creds.key, nonce),
    agent: { version: "test-1" },
    ...overrides,
  };
}

/** A raw protocol client: every frame it receives is queued for `next()`; `closed` resolves with the close. */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: Array<Record<string, unknown>> = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  /** The error event's message, e.g. when the hub refused the upgrade ("… Invalid status code: 429"). */
  error = "";

  constructor(url: string, { headers }: { headers?: HeadersInit } = {}) {
    // Deno's WebSocket takes `{ headers }` (non-standard); the "dom" lib of deno.json types only protocols.
    const options = headers ? { headers } as unknown as string[] : undefined;
    this.ws = new WebSocket(url.replace(/^http/, "ws") + "/connectors/ws", options);
    this.ws.addEventListener("error", (e) => this.error = e instanceof ErrorEvent ? e.message : "");
    this.opened = new Promise((resolve) => this.ws.addEventListener("open", () => resolve(), { once: true }));
    this.closed = new Promise((resolve) =>
      this.ws.addEventListener("close", (e) => {
        resolve({ code: e.code, reason: e.reason });
        for (const w of this.#waiters.splice(0)) w();
      }, { once: true })
    );
    this.ws.onmessage = (m) => {
      this.frames.push(JSON.parse(m.data));
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  /** The next frame of type `t` (skipping others, e.g. pings), or null when the socket closes first. */
  async next(t?: string): Promise<Record<string, unknown> | null> {
    for (;;) {
      const i = this.frames.findIndex((f) => !t || f.t === t);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.ws.readyState === WebSocket.CLOSED) return null;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Answers the challenge; `overrides` change fields of the auth frame. */
  async auth(creds: Creds, overrides: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const challenge = await this.next("challenge");
    if (!challenge) throw new Error("no challenge");
    const frame = authFrame(creds, challenge.nonce as string, overrides);
    this.send(frame);
    return frame;
  }

  async close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close(1000, "test done");
    return await this.closed;
  }
}

/** A clock that runs with real time and can be pushed forward. */
export function movableClock() {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    advance(ms: number) {
      offset += ms;
    },
  };
}

/**
 * Listens to the test organization's events from now on: `next(match)` resolves with the first
 * matching event — a test waits on the thing itself rather than polling against a clock.
 */
export async function listenEvents(t: TestHub, types: string[]) {
  const stop = new AbortController();
  const items = t.hub.events.stream(t.org, { types, signal: stop.signal });
  await items.next(); // "open": everything published from here on will come
  return {
    async next(match: (e: HubEvent) => boolean = () => true): Promise<HubEvent> {
      for (;;) {
        const item = await items.next();
        if (item.done) throw new Error(`the event stream ended before a matching ${types.join("/")} event`);
        if (item.value.kind === "event" && match(item.value.event)) return item.value.event;
      }
    },
    async close() {
      stop.abort();
      await items.return(undefined);
    },
  };
}

const HOUR = 3600_000;

/** A real agent with its printed lines: against the fake ticket system, or answering empty results (fake null). */
export function agentFor(
  t: TestHub | string,
  creds: Creds,
  fake: TicketSystemFake | null,
  extra: Partial<AgentOptions> = {},
): { agent: Agent; lines: string[]; creds: Creds } {
  const lines: string[] = [];
  const adapter: TicketAdapter = fake
    ? new HttpTicketAdapter({
      baseUrl: fake.url,
      email: FAKE_USER.email,
      password: FAKE_USER.password,
      retryMs: [10, 20],
    })
    : { query: () => Promise.resolve({ tickets: [], truncated: false }) };
  const agent = new Agent({
    server: typeof t === "string" ? t : t.url,
    ...creds,
    adapter,
    filters: { arrears: "f-arrears", stopped: "f-stopped" },
    backoff: { baseMs: 20, maxMs: 200 },
    print: (l) => lines.push(l),
    ...extra,
  });
  return { agent, lines, creds };
}

/**
 * Four tickets: T-1 two hours over (moved from «Первая линия» to «Сеть», with a reason), T-2 one hour
 * over, T-3 due in five hours, T-4 suspended.
 */
export function seedTickets(fake: TicketSystemFake) {
  const now = fake.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  fake.upsert({
    number: "T-1",
    subject: "Нет связи в цехе",
    group: "Первая линия",
    created_at: iso(now - 5 * HOUR),
    sla_deadline: iso(now - 2 * HOUR),
    executor: { name: "Иванов" },
    delay_reason: "Ждём подрядчика",
  });
  fake.transfer("T-1", "Сеть");
  fake.upsert({
    number: "T-2",
    subject: "Не печатает принтер",
    created_at: iso(now - 3 * HOUR),
    sla_deadline: iso(now - HOUR),
  });
  fake.upsert({
    number: "T-3",
    subject: "Новый сотрудник",
    created_at: iso(now - HOUR),
    sla_deadline: iso(now + 5 * HOUR),
  });
  fake.upsert({
    number: "T-4",
    subject: "Замена картриджа",
    created_at: iso(now - 4 * HOUR),
    sla_deadline: iso(now + HOUR),
  });
  fake.pause("T-4", "Ждём запчасть");
}

/** The two job records (arrears, stopped) of `poll` once both are done, whichever attempt did it. */
export async function snapshotsOf(t: TestHub, poll: string): Promise<JobRecord[]> {
  return await eventually<JobRecord[] | null>(async () => {
    const jobs = await Promise.all(["arrears", "stopped"].map(async (f) => {
      for (let a = 0; a < 3; a++) {
        const j = await t.hub.connectors.dispatcher.job(t.org, `${poll}-${f}-${a}`);
        if (j?.state === "done") return j;
      }
      return null;
    }));
    return jobs.every(Boolean) ? jobs as JobRecord[] : null;
  }, { timeoutMs: 10_000 }) as JobRecord[];
}

/** One agent of `withAgents`: its connector's name and anything that differs from a plain agent. */
export interface AgentSpec {
  name?: string;
  /** Changes the credentials the agent uses (e.g. a wrong key). */
  creds?: (c: Creds) => Creds;
  /** No ticket system behind it: empty results. */
  noTicketSystem?: boolean;
  options?: Partial<AgentOptions>;
  /** Wait until it is online before the test body (default true). */
  online?: boolean;
}

/**
 * The usual stage of an agent test: the fake ticket system (seeded unless `seed: false`), a hub, one
 * connector and one started agent per spec (online before `fn` runs), all torn down afterwards.
 */
export async function withAgents(
  { agents = [{}], seed = true, hub = {}, fake: fakeOptions = {} }: {
    agents?: AgentSpec[];
    seed?: boolean;
    hub?: TestHubOptions;
    fake?: TicketSystemFakeOptions;
  },
  fn: (x: { t: TestHub; fake: TicketSystemFake; agents: ReturnType<typeof agentFor>[] }) => Promise<void>,
): Promise<void> {
  const fake = await startTicketSystemFake(fakeOptions);
  const t = await startTestHub(hub);
  const running: ReturnType<typeof agentFor>[] = [];
  try {
    if (seed) seedTickets(fake);
    for (const [i, spec] of agents.entries()) {
      const creds = await createConnector(t, spec.name ?? `Цех ${i + 1}`);
      const run = agentFor(t, spec.creds?.(creds) ?? creds, spec.noTicketSystem ? null : fake, spec.options);
      running.push({ ...run, creds });
      run.agent.start();
    }
    for (const [i, spec] of agents.entries()) {
      if (spec.online !== false) await running[i].agent.waitFor((a) => a.state === "online");
    }
    await fn({ t, fake, agents: running });
  } finally {
    for (const r of running) await r.agent.stop();
    await t.close();
    await fake.shutdown();
  }
}

/**
 * A second hub process on `t`'s KV (the queue's kinds are the app's, a superset of what the capability
 * needs), serving /connectors/ws at `url` for agents it sees at `remoteAddress`.
 */
export async function secondProcess(t: TestHub, opts: ConnectorsOptions = {}, remoteAddress = "127.0.0.1") {
  const svc = await createConnectors(t.hub as unknown as CoreHub, opts);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    svc.server.accept(socket, { remoteAddress });
    return response;
  });
  return {
    svc,
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await svc.server.close();
      await server.shutdown();
    },
  };
}
