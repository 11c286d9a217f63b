/**
 * The connector agent: dials the hub, proves its key by HMAC of the hub's
 * challenge, answers heartbeats and runs ticket queries through its adapter.
 * It reconnects forever with jittered exponential backoff; a refusal by the
 * hub or by the ticket system is one clear line (printed again only when it
 * changes). Nothing here reads the environment: agent_main.ts does.
 *
 * @example
 * const agent = new Agent({ server, connectorId, token, key, adapter, print: console.log });
 * agent.start();
 * await agent.stop();
 */
import {
  CLOSE,
  type HubFrame,
  hubFrameSchema,
  MAX_FRAME_BYTES,
  parseFrame,
  PROTOCOL_VERSION,
  proveChallenge,
} from "./protocol.ts";
import { type TicketAdapter, TicketAuthError } from "./adapter.ts";
import { ticketsQueryParamsSchema, type TicketsResult } from "../sla/ticket.ts";

export const AGENT_VERSION = "1.0.0";

export interface AgentOptions {
  /** `wss://hub/connectors/ws` (an http(s) base URL is accepted and turned into it). */
  server: string;
  connectorId: string;
  token: string;
  key: string;
  adapter: TicketAdapter;
  /** The saved-filter keys used when the hub sends none (FILTER_ARREARS, FILTER_STOPPED). */
  filters?: { arrears?: string; stopped?: string };
  /** INTERVAL, seconds: reported to the hub, which shows it; the organization's interval there decides the polls. */
  intervalSec?: number;
  /** Where the agent's lines go (console.log in the CLI). */
  print?: (line: string) => void;
  backoff?: { baseMs?: number; maxMs?: number };
  random?: () => number;
  version?: string;
}

type Close = { code: number; reason: string; welcomed: boolean };

/** The hub's WebSocket URL for a SERVER value. */
export function socketUrl(server: string): string {
  const u = new URL(server);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/connectors/ws";
  return u.href;
}

/** Full jitter: a random wait up to `min(max, base × 2^attempt)`. */
export function backoffDelay(attempt: number, { baseMs = 1000, maxMs = 60_000 } = {}, random = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)));
}

const REFUSALS = new Set<number>([CLOSE.badCredentials.code, CLOSE.revoked.code, CLOSE.versionMismatch.code]);

export class Agent {
  readonly #o: AgentOptions;
  readonly #print: (line: string) => void;
  readonly #stop = new AbortController();
  #socket: WebSocket | null = null;
  #running: Promise<void> | null = null;
  #lastLine = "";
  #jobs = new Map<string, AbortController>();
  /** Times the agent was welcomed (tests wait on it). */
  connections = 0;
  state: "connecting" | "online" | "waiting" | "stopped" = "connecting";
  readonly #waiters = new Set<() => void>();

  constructor(opts: AgentOptions) {
    this.#o = opts;
    this.#print = opts.print ?? (() => {});
  }

  /** Starts the connect loop (returns at once). */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Closes the socket (1000), aborts running queries and ends the loop. */
  async stop(): Promise<void> {
    this.#stop.abort();
    for (const j of this.#jobs.values()) j.abort();
    try {
      this.#socket?.close(1000, "agent stopping");
    } catch { /* closed */ }
    await this.#running;
    await this.#o.adapter.close?.();
    this.state = "stopped";
    this.#notify();
  }

  /** Resolves when `check()` holds (checked after each state change). */
  waitFor(check: (a: Agent) => boolean): Promise<void> {
    if (check(this)) return Promise.resolve();
    return new Promise((resolve) => {
      const w = () => {
        if (check(this)) {
          this.#waiters.delete(w);
          resolve();
        }
      };
      this.#waiters.add(w);
    });
  }

  #notify() {
    for (const w of [...this.#waiters]) w();
  }

  /** Prints a line unless it is the same as the last one (a refusal repeated on every retry is noise). */
  #say(line: string) {
    if (line === this.#lastLine) return;
    this.#lastLine = line;
    this.#print(line);
  }

  async #loop() {
    let attempt = 0;
    while (!this.#stop.signal.aborted) {
      this.state = "connecting";
      this.#notify();
      const closed = await this.#session();
      if (this.#stop.signal.aborted) break;
      if (closed.welcomed) attempt = 0;
      if (REFUSALS.has(closed.code)) this.#say(closed.reason);
      const wait = backoffDelay(attempt++, this.#o.backoff, this.#o.random);
      if (!REFUSALS.has(closed.code)) {
        this.#say(
          `connection to the hub closed (${closed.code}${closed.reason ? `: ${closed.reason}` : ""}), reconnecting`,
        );
      }
      this.state = "waiting";
      this.#notify();
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, wait);
        const signal = this.#stop.signal;
        function done() {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** One connection, from dial to close. */
  #session(): Promise<Close> {
    return new Promise<Close>((resolve) => {
      let welcomed = false;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      let lastFrame = Date.now();
      let socket: WebSocket;
      try {
        socket = new WebSocket(socketUrl(this.#o.server));
      } catch (error) {
        resolve({
          code: 1006,
          reason: `cannot dial ${this.#o.server}: ${error instanceof Error ? error.message : error}`,
          welcomed,
        });
        return;
      }
      this.#socket = socket;
      const send = (frame: unknown) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
      };
      socket.onmessage = (m) => {
        lastFrame = Date.now();
        const parsed = parseFrame(hubFrameSchema, m.data, { maxBytes: MAX_FRAME_BYTES });
        if (!parsed.ok) return socket.close(parsed.code, parsed.reason);
        const frame: HubFrame = parsed.frame;
        switch (frame.t) {
          case "challenge":
            send({
              t: "auth",
              v: PROTOCOL_VERSION,
              connectorId: this.#o.connectorId,
              token: this.#o.token,
              nonce: frame.nonce,
              mac: proveChallenge(this.#o.key, frame.nonce),
              agent: {
                version: this.#o.version ?? AGENT_VERSION,
                ...(this.#o.intervalSec ? { intervalSec: this.#o.intervalSec } : {}),
              },
            });
            return;
          case "welcome":
            welcomed = true;
            this.connections++;
            this.state = "online";
            this.#say(`connected to ${socketUrl(this.#o.server)} as ${frame.connectorId}`);
            heartbeat = setInterval(() => {
              if (Date.now() - lastFrame > frame.heartbeatMs * 3) {
                return socket.close(4000, "no heartbeat from the hub");
              }
              send({ t: "ping", at: Date.now() });
            }, frame.heartbeatMs);
            this.#notify();
            return;
          case "ping":
            return send({ t: "pong", at: frame.at });
          case "pong":
            return;
          case "job":
            this.#run(frame, send);
            return;
        }
      };
      // A refused upgrade (the hub's 429 for an address over its socket caps, a proxy's 502) closes without a
      // reason: the error's message ("… Invalid status code: 429") is then the only account of it.
      let failure = "";
      socket.onerror = (e) => failure = e instanceof ErrorEvent ? e.message : "";
      socket.onclose = (e) => {
        clearInterval(heartbeat);
        for (const j of this.#jobs.values()) j.abort();
        this.#jobs.clear();
        this.#socket = null;
        resolve({ code: e.code, reason: e.reason || failure, welcomed });
      };
    });
  }

  async #run(frame: Extract<HubFrame, { t: "job" }>, send: (f: unknown) => void) {
    const ctl = new AbortController();
    this.#jobs.set(frame.id, ctl);
    const left = frame.deadline - Date.now();
    const timer = setTimeout(() => ctl.abort(new Error("deadline passed")), Math.max(0, left));
    try {
      const data = await this.#execute(frame, ctl.signal);
      if (ctl.signal.aborted) return;
      send(fit({ t: "result", id: frame.id, ok: true, data }));
    } catch (error) {
      if (ctl.signal.aborted && !(error instanceof TicketAuthError)) return;
      const code = (error as { code?: string }).code ?? "agent_error";
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof TicketAuthError) this.#say(message);
      send({
        t: "result",
        id: frame.id,
        ok: false,
        error: { code: String(code).slice(0, 100), message: message.slice(0, 2000) },
      });
    } finally {
      clearTimeout(timer);
      this.#jobs.delete(frame.id);
    }
  }

  async #execute(frame: Extract<HubFrame, { t: "job" }>, signal: AbortSignal): Promise<unknown> {
    if (frame.action === "ping") return { pong: Date.now() };
    const params = ticketsQueryParamsSchema.parse(frame.params);
    const key = params.key ?? this.#o.filters?.[params.filter];
    if (!key) {
      throw Object.assign(
        new Error(
          `no saved-filter key for ${params.filter}: set FILTER_${params.filter === "arrears" ? "ARREARS" : "STOPPED"}`,
        ),
        { code: "no_filter" },
      );
    }
    const res = await this.#o.adapter.query({ key, limit: params.limit ?? 2000, signal });
    return { tickets: res.tickets, truncated: res.truncated } satisfies TicketsResult;
  }
}

/** Shrinks a result until it fits one frame (dropping the last tickets and saying so). */
function fit(frame: { t: "result"; id: string; ok: true; data: unknown }): unknown {
  let text = JSON.stringify(frame);
  const data = frame.data as TicketsResult | undefined;
  if (!data?.tickets) return frame;
  let tickets = data.tickets;
  while (new TextEncoder().encode(text).length > MAX_FRAME_BYTES - 1024 && tickets.length > 0) {
    tickets = tickets.slice(0, Math.floor(tickets.length * 0.8));
    text = JSON.stringify({ ...frame, data: { tickets, truncated: true } });
  }
  return JSON.parse(text);
}
