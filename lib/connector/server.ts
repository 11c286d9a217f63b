/**
 * The hub's side of `/connectors/ws`, one `ConnectorServer` per process.
 *
 * Per socket: a fresh challenge → the agent's answer (id, token, HMAC) →
 * welcome, then heartbeats both ways, jobs out and results in. Every frame is
 * bounded (size, frames per second) and parsed with the protocol's schemas; a
 * bad frame closes that one socket with a reason. Refused handshakes are
 * audited and published as `connector.auth_failed` — at most once a minute
 * per connector, and an address (or an id from it) that keeps failing is
 * refused before any check (lib/connector/handshake_throttle.ts), so sockets
 * from strangers cannot make the hub write at will (those counters are in
 * KV, shared by every process); at most `maxHandshakes` sockets may be
 * unauthenticated at once, and one remote address may hold at most
 * `maxSocketsPerAddress` sockets, `maxHandshakesPerAddress` of them
 * unauthenticated (counted here: a socket is this process's resource). An
 * address, for these caps and the throttle, is `addressForLimits`: IPv6 by
 * its /64, which one host can rotate through.
 *
 * Across processes: the socket's process holds a lease in KV
 * (`["connector_live", org, id]` with its node id) and listens on a
 * BroadcastChannel; a job dispatched elsewhere is posted there and the holder
 * sends it (BroadcastChannel spans isolates on Deno Deploy). Kicks (revoke,
 * rotate, a newer socket of the same connector) travel the same way.
 */
import { z } from "zod";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../clock.ts";
import { randomToken } from "../ids.ts";
import { auditInto } from "../accounts/audit.ts";
import {
  type AgentFrame,
  agentFrameSchema,
  CHALLENGE_TTL_MS,
  checkAnswer,
  CLOSE,
  type HubFrame,
  MAX_FRAME_BYTES,
  parseFrame,
  PROTOCOL_VERSION,
  verifyProof,
} from "./protocol.ts";
import type { ConnectorRecord, ConnectorRegistry } from "./registry.ts";
import type { EventPublisher } from "../events/types.ts";
import { HandshakeThrottle, type HandshakeThrottleOptions } from "./handshake_throttle.ts";
import { addressForLimits } from "../http/ip.ts";

type Close = { code: number; reason: string };
type JobFrame = Extract<HubFrame, { t: "job" }>;
export type ResultFrame = Extract<AgentFrame, { t: "result" }>;

export interface ServerHooks {
  /** A result for a job this socket was sent (unknown and duplicate ids never get here). */
  result(org: string, connectorId: string, frame: ResultFrame): Promise<void>;
  /** The socket closed with jobs still pending: they can go to another connector at once. */
  orphaned(org: string, connectorId: string, jobIds: string[]): Promise<void>;
}

export interface ServerLimits {
  heartbeatMs: number;
  /** Frames per second a socket may send (a burst of twice that is allowed). */
  maxFramesPerSec: number;
  /** Jobs in flight per connector. */
  maxPending: number;
  maxFrameBytes: number;
  challengeTtlMs: number;
  /** Sockets not yet authenticated at once in this process; more are closed at once (1013). */
  maxHandshakes: number;
  /** Sockets of one address not yet authenticated at once in this process; more are refused (4031). */
  maxHandshakesPerAddress: number;
  /** Sockets of one address open at once in this process, authenticated or not; more are refused (4030). */
  maxSocketsPerAddress: number;
  /** How often a connector's refused handshakes are audited and published, ms. */
  refusalNoteMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  heartbeatMs: 15_000,
  maxFramesPerSec: 20,
  maxPending: 4,
  maxFrameBytes: MAX_FRAME_BYTES,
  challengeTtlMs: CHALLENGE_TTL_MS,
  maxHandshakes: 1024,
  maxHandshakesPerAddress: 32,
  maxSocketsPerAddress: 256,
  refusalNoteMs: 60_000,
};

const busMessageSchema = z.discriminatedUnion("t", [
  z.object({ t: z.literal("job"), node: z.string(), org: z.string(), connectorId: z.string(), frame: z.unknown() }),
  z.object({
    t: z.literal("kick"),
    org: z.string(),
    connectorId: z.string(),
    exceptSession: z.string().optional(),
    code: z.number(),
    reason: z.string(),
  }),
]);
type BusMessage = z.infer<typeof busMessageSchema>;

interface Session {
  id: string;
  socket: WebSocket;
  /** As the route saw it (logs, audit). */
  remoteAddress: string | null;
  /** What the per-address caps count it under (`addressForLimits`). */
  limitAddress: string | null;
  nonce: string;
  expiresAt: number;
  record: ConnectorRecord | null;
  version: string;
  /** Job id → deadline. */
  pending: Map<string, number>;
  tokens: number;
  refilledAt: number;
  lastFrameAt: number;
  lastSeenWritten: number;
  timers: ReturnType<typeof setTimeout>[];
  closed: boolean;
  /** An auth frame is being checked: any frame before its outcome closes the socket. */
  authenticating: boolean;
  /** Counted in its address's open sockets (it was not refused on arrival). */
  admitted: boolean;
  /** Set when the socket exceeded its frame rate: further frames are dropped until it is closed. */
  draining?: { since: number; timer: ReturnType<typeof setTimeout> | undefined };
}

export interface ConnectorServerOptions {
  registry: ConnectorRegistry;
  kv: Deno.Kv;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  hooks: ServerHooks;
  events: EventPublisher;
  limits?: Partial<ServerLimits>;
  /** BroadcastChannel name; null keeps everything in this process. */
  channel?: string | null;
  /** Ceilings of refused handshakes (defaults in lib/connector/handshake_throttle.ts). */
  throttle?: Omit<HandshakeThrottleOptions, "now">;
}

/** Accepts agent sockets and sends them jobs. */
export class ConnectorServer {
  /** This process's id in leases. */
  readonly node = randomToken(9);
  readonly limits: ServerLimits;
  readonly #o: ConnectorServerOptions;
  readonly #sessions = new Set<Session>();
  /** Authenticated sockets by connector id. */
  readonly #ready = new Map<string, Session>();
  /** Sockets still in their handshake. */
  readonly #handshaking = new Set<Session>();
  /** Admitted sockets per remote address: open, and of those still in their handshake. */
  readonly #byAddress = new Map<string, { open: number; handshaking: number }>();
  readonly #throttle: HandshakeThrottle;
  readonly #bc: BroadcastChannel | null;
  #closing = false;
  #addressWarnedAt = -Infinity;

  constructor(opts: ConnectorServerOptions) {
    this.#o = opts;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#throttle = new HandshakeThrottle(opts.kv, {
      ...opts.throttle,
      now: () => opts.clock.now(),
      onSweepError: (error) => opts.log.warn("connector throttle: stale counters not deleted", { error }),
    });
    const name = opts.channel === undefined ? "shlyuz-connectors" : opts.channel;
    this.#bc = name ? new BroadcastChannel(name) : null;
    if (this.#bc) this.#bc.onmessage = (m: MessageEvent) => this.#onBus(m.data);
    opts.metrics.gauge("shlyuz_connectors_connected", () => this.#ready.size, "Authenticated connector sockets here");
  }

  get connectedCount(): number {
    return this.#ready.size;
  }

  /**
   * Why a new socket from `remoteAddress` is refused by its address's caps (counted in the metrics), or null
   * when it may come in. The route asks before upgrading (and answers 429); `accept` asks again, for sockets
   * handed to it directly. A socket without a known address (not served by Deno.serve) is not capped by address.
   * Addresses are grouped by `addressForLimits` (an IPv6 /64 is one address here).
   */
  refusalFor(remoteAddress: string | null): Close | null {
    const grouped = remoteAddress === null ? null : addressForLimits(remoteAddress);
    const counts = grouped === null ? undefined : this.#byAddress.get(grouped);
    if (!counts) return null;
    const refusal = counts.open >= this.limits.maxSocketsPerAddress
      ? CLOSE.addressSockets
      : counts.handshaking >= this.limits.maxHandshakesPerAddress
      ? CLOSE.addressHandshakes
      : null;
    if (refusal) this.#noteAddressRefusal(grouped!, refusal);
    return refusal;
  }

  /** Sockets of `remoteAddress` (its group) open in this process, and how many of them are still in their handshake. */
  openFrom(remoteAddress: string): { open: number; handshaking: number } {
    return { ...(this.#byAddress.get(addressForLimits(remoteAddress)) ?? { open: 0, handshaking: 0 }) };
  }

  /** Takes a freshly upgraded socket. */
  accept(socket: WebSocket, { remoteAddress = null }: { remoteAddress?: string | null } = {}): void {
    const now = this.#o.clock.now();
    const s: Session = {
      id: randomToken(9),
      socket,
      remoteAddress,
      limitAddress: remoteAddress === null ? null : addressForLimits(remoteAddress),
      nonce: randomToken(32),
      expiresAt: now + this.limits.challengeTtlMs,
      record: null,
      version: "",
      pending: new Map(),
      tokens: this.limits.maxFramesPerSec * 2,
      refilledAt: Date.now(),
      lastFrameAt: Date.now(),
      lastSeenWritten: 0,
      timers: [],
      closed: false,
      authenticating: false,
      admitted: false,
    };
    this.#sessions.add(s);
    this.#o.metrics.inc("shlyuz_connector_sockets_total");
    const overAddress = this.refusalFor(remoteAddress);
    const busy = !overAddress && this.#handshaking.size >= this.limits.maxHandshakes;
    if (!overAddress && !busy) {
      this.#handshaking.add(s);
      this.#countAddress(s, { open: 1, handshaking: 1 });
    }
    socket.onopen = () => {
      if (this.#closing) return this.#close(s, CLOSE.goingAway);
      if (overAddress) return this.#close(s, overAddress);
      if (busy) {
        this.#o.metrics.inc("shlyuz_connector_refused_total", { reason: "busy" });
        return this.#close(s, CLOSE.busy);
      }
      this.#sendRaw(s, { t: "challenge", v: PROTOCOL_VERSION, nonce: s.nonce, expiresAt: s.expiresAt });
      // Real time on purpose: a socket that never answers must not hold resources, whatever the hub's clock says.
      s.timers.push(setTimeout(() => {
        if (!s.record) this.#close(s, CLOSE.challengeExpired);
      }, this.limits.challengeTtlMs + 1000));
    };
    socket.onmessage = (m) => {
      this.#onMessage(s, m.data).catch((error) => {
        this.#o.log.error("connector frame failed", { error });
        this.#close(s, { code: 1011, reason: "hub error, reconnecting" });
      });
    };
    socket.onclose = () => this.#onClosed(s);
    socket.onerror = () => {};
  }

  /** Adds `delta` to the counts of the socket's address (admitting it when `open` is 1); drops counts at zero. */
  #countAddress(s: Session, delta: { open: number; handshaking: number }) {
    if (s.limitAddress === null) return;
    if (delta.open > 0) s.admitted = true;
    const counts = this.#byAddress.get(s.limitAddress) ?? { open: 0, handshaking: 0 };
    counts.open += delta.open;
    counts.handshaking += delta.handshaking;
    if (counts.open <= 0) this.#byAddress.delete(s.limitAddress);
    else this.#byAddress.set(s.limitAddress, counts);
  }

  /**
   * Counts a socket refused by its address's caps; warns at most once a minute, since the usual cause is a
   * reverse proxy not listed in SHLYUZ_TRUSTED_PROXIES (every agent then shares the proxy's address).
   */
  #noteAddressRefusal(remoteAddress: string, close: Close) {
    const reason = close === CLOSE.addressSockets ? "address_sockets" : "address_handshakes";
    this.#o.metrics.inc("shlyuz_connector_refused_total", { reason });
    const now = Date.now();
    if (now - this.#addressWarnedAt < 60_000) return;
    this.#addressWarnedAt = now;
    this.#o.log.warn("connector socket refused: too many from one address", {
      remoteAddress,
      why: reason,
      hint: "behind a reverse proxy, list it in SHLYUZ_TRUSTED_PROXIES",
    });
  }

  /** Sends a job to a connector whose socket is in this process; false when it is not here or is full. */
  sendLocal(connectorId: string, frame: JobFrame): "sent" | "absent" | "full" {
    const s = this.#ready.get(connectorId);
    if (!s || s.closed) return "absent";
    this.#prune(s);
    if (s.pending.size >= this.limits.maxPending) return "full";
    s.pending.set(frame.id, frame.deadline);
    this.#sendRaw(s, frame);
    return "sent";
  }

  /** Sends a job to the process holding the connector's socket (this one, or another through the channel). */
  route(org: string, connectorId: string, node: string, frame: JobFrame): "sent" | "posted" | "absent" | "full" {
    if (node === this.node) return this.sendLocal(connectorId, frame);
    if (!this.#bc) return "absent";
    this.#bc.postMessage({ t: "job", node, org, connectorId, frame } satisfies BusMessage);
    return "posted";
  }

  /** Closes the connector's socket wherever it is (revoke, rotate). */
  kick(org: string, connectorId: string, close: Close): void {
    this.#kickLocal({ t: "kick", org, connectorId, ...close });
    this.#bc?.postMessage({ t: "kick", org, connectorId, ...close } satisfies BusMessage);
  }

  /** Pending jobs of a local socket (tests, page). */
  pendingOf(connectorId: string): number {
    const s = this.#ready.get(connectorId);
    if (!s) return 0;
    this.#prune(s);
    return s.pending.size;
  }

  /** Forgets jobs past their deadline: the dispatcher has given them to another connector, a late result is ignored. */
  #prune(s: Session) {
    const now = this.#o.clock.now();
    for (const [id, deadline] of s.pending) if (deadline < now) s.pending.delete(id);
  }

  /** Closes every socket (1001, the agents reconnect elsewhere) and the channel. */
  async close(): Promise<void> {
    this.#closing = true;
    const closing = [...this.#sessions].map((s) => this.#finish(s, CLOSE.goingAway));
    await Promise.allSettled(closing);
    this.#bc?.close();
  }

  #onBus(raw: unknown) {
    const parsed = busMessageSchema.safeParse(raw);
    if (!parsed.success) return;
    const msg = parsed.data;
    if (msg.t === "kick") return this.#kickLocal(msg);
    if (msg.node !== this.node) return;
    const frame = msg.frame as JobFrame;
    // A full or vanished socket: the job's deadline check sends it elsewhere.
    const outcome = this.sendLocal(msg.connectorId, frame);
    if (outcome !== "sent") this.#o.log.debug("routed job not sent", { outcome, jobId: frame.id });
  }

  #kickLocal(msg: Extract<BusMessage, { t: "kick" }>) {
    const s = this.#ready.get(msg.connectorId);
    if (s && s.record?.org === msg.org && s.id !== msg.exceptSession) this.#close(s, msg);
  }

  #sendRaw(s: Session, frame: HubFrame) {
    if (s.closed || s.socket.readyState !== WebSocket.OPEN) return;
    try {
      s.socket.send(JSON.stringify(frame));
    } catch (error) {
      this.#o.log.debug("send failed", { error });
    }
  }

  #close(s: Session, { code, reason }: Close) {
    if (s.closed) return;
    s.closed = true;
    try {
      s.socket.close(code, reason);
    } catch { /* already closing */ }
  }

  /** Closes and waits for the close handshake (bounded), so shutdown leaves no socket behind. */
  async #finish(s: Session, close: Close): Promise<void> {
    if (s.socket.readyState === WebSocket.CLOSED) return this.#onClosed(s);
    const done = new Promise<void>((resolve) => s.socket.addEventListener("close", () => resolve(), { once: true }));
    this.#close(s, close);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise<void>((r) => timer = setTimeout(r, 2000))]);
    clearTimeout(timer);
    await this.#onClosed(s);
  }

  /** Token bucket: refills `maxFramesPerSec` per second up to twice that. */
  #allowFrame(s: Session): boolean {
    const now = Date.now();
    const rate = this.limits.maxFramesPerSec;
    s.tokens = Math.min(rate * 2, s.tokens + ((now - s.refilledAt) / 1000) * rate);
    s.refilledAt = now;
    if (s.tokens < 1) return false;
    s.tokens -= 1;
    return true;
  }

  /**
   * Closes once the sender pauses (50 ms without frames, at most 1 s): Deno drops the connection
   * without the close frame when frames are still arriving, and the agent would not see the reason.
   */
  #closeWhenQuiet(s: Session, close: Close) {
    const now = Date.now();
    s.draining ??= { since: now, timer: undefined };
    clearTimeout(s.draining.timer);
    const wait = Math.max(0, Math.min(50, s.draining.since + 1000 - now));
    s.draining.timer = setTimeout(() => this.#close(s, close), wait);
    s.timers.push(s.draining.timer);
  }

  async #onMessage(s: Session, raw: unknown) {
    if (s.closed) return;
    if (s.draining) return this.#closeWhenQuiet(s, CLOSE.rateExceeded);
    if (!this.#allowFrame(s)) {
      this.#o.metrics.inc("shlyuz_connector_refused_total", { reason: "rate" });
      return this.#closeWhenQuiet(s, CLOSE.rateExceeded);
    }
    const parsed = parseFrame(agentFrameSchema, raw, { maxBytes: this.limits.maxFrameBytes });
    if (!parsed.ok) {
      this.#o.metrics.inc("shlyuz_connector_refused_total", { reason: "malformed" });
      return this.#close(s, parsed);
    }
    s.lastFrameAt = Date.now();
    const frame = parsed.frame;
    if (!s.record) {
      // One handshake per socket: a second auth (or anything else) before the first is decided would
      // authenticate twice (two heartbeats, two leases, two connector.online).
      if (s.authenticating) {
        return this.#close(s, {
          code: CLOSE.malformed.code,
          reason: "malformed frame: the handshake is still pending",
        });
      }
      if (frame.t !== "auth") {
        return this.#close(s, { code: CLOSE.malformed.code, reason: "malformed frame: auth expected first" });
      }
      s.authenticating = true;
      try {
        return await this.#authenticate(s, frame);
      } finally {
        s.authenticating = false;
      }
    }
    switch (frame.t) {
      case "auth":
        return this.#close(s, { code: CLOSE.malformed.code, reason: "malformed frame: already authenticated" });
      case "ping":
        this.#sendRaw(s, { t: "pong", at: frame.at });
        return await this.#touch(s);
      case "pong":
        return await this.#touch(s);
      case "result": {
        // Unknown, duplicate and late results are dropped here: only a job this socket holds gets through.
        this.#prune(s);
        if (!s.pending.delete(frame.id)) {
          this.#o.metrics.inc("shlyuz_connector_results_ignored_total");
          this.#o.log.debug("result ignored", { connectorId: s.record.id, jobId: frame.id });
          return;
        }
        try {
          await this.#o.hooks.result(s.record.org, s.record.id, frame);
        } catch (error) {
          // The hub's failure, not the agent's: the job stays retryable and the socket stays open.
          this.#o.metrics.inc("shlyuz_connector_results_failed_total");
          this.#o.log.error("connector result failed", { connectorId: s.record.id, jobId: frame.id, error });
        }
        return;
      }
    }
  }

  async #authenticate(s: Session, frame: Extract<AgentFrame, { t: "auth" }>) {
    const { registry, log } = this.#o;
    const throttle = await this.#throttle.check(s.remoteAddress, frame.connectorId);
    const locked = throttle.locked;
    if (locked) {
      // Refused before reading anything: a stranger's sockets cost no KV access at all from here on.
      this.#o.metrics.inc("shlyuz_connector_refused_total", { reason: "throttled" });
      log.debug("connector refused", { connectorId: frame.connectorId, why: `throttled_${locked}` });
      return this.#close(s, CLOSE.throttled);
    }
    const refuse = async (close: Close, record: ConnectorRecord | null, why: string) => {
      // A pair counter only for an id that exists: one per guessed id would be a key a stranger makes us write.
      await throttle.refused({ knownConnector: record !== null });
      this.#o.metrics.inc("shlyuz_connector_refused_total", { reason: why });
      if (record && await this.#recordRefusal(record, close, why, s.remoteAddress)) {
        log.warn("connector refused", { connectorId: frame.connectorId, why, remoteAddress: s.remoteAddress });
      } else {
        log.debug("connector refused", { connectorId: frame.connectorId, why, remoteAddress: s.remoteAddress });
      }
      this.#close(s, close);
    };
    const org = await registry.orgOf(frame.connectorId);
    const record = org ? await registry.get(org, frame.connectorId) : null;
    const answer = checkAnswer({ nonce: s.nonce, expiresAt: s.expiresAt }, frame, this.#o.clock.now());
    if (answer) return await refuse(answer, record, answer === CLOSE.replayed ? "replayed" : "expired");
    if (!record) return await refuse(CLOSE.badCredentials, null, "unknown_connector");
    const verdict = await registry.verify(record, {
      token: frame.token,
      check: (key) => verifyProof(key, s.nonce, frame.mac),
    });
    if (verdict === "revoked") return await refuse(CLOSE.revoked, record, "revoked");
    if (verdict !== "ok") return await refuse(CLOSE.badCredentials, record, verdict);
    await throttle.succeeded();
    if (s.closed) return;

    s.record = record;
    s.version = frame.agent.version;
    if (this.#handshaking.delete(s)) this.#countAddress(s, { open: 0, handshaking: -1 });
    const previous = this.#ready.get(record.id);
    this.#ready.set(record.id, s);
    // A socket of the same connector in another process gives way to this one.
    this.#bc?.postMessage(
      {
        t: "kick",
        org: record.org,
        connectorId: record.id,
        exceptSession: s.id,
        ...CLOSE.replaced,
      } satisfies BusMessage,
    );
    const now = this.#o.clock.now();
    await registry.setStatus(record.org, record.id, {
      version: frame.agent.version,
      remoteAddress: s.remoteAddress,
      connectedSince: new Date(now).toISOString(),
      lastSeen: new Date(now).toISOString(),
      lastError: null,
      agentIntervalSec: frame.agent.intervalSec ?? null,
    });
    // The lease last: whoever sees the connector online also sees its version and address.
    await registry.lease(record.org, record.id, {
      node: this.node,
      session: s.id,
      expiresAt: now + this.limits.heartbeatMs * 3,
      pending: 0,
    });
    if (s.closed) {
      // Closed meanwhile (the agent went away, a bad frame): its close bookkeeping may have run before the
      // lease existed, so drop it here; connector.online was not published, so no offline either.
      await registry.release(record.org, record.id, s.id);
      return;
    }
    // Only now close the replaced socket: its close handler finds the lease taken and reports no offline.
    if (previous && previous !== s) this.#close(previous, CLOSE.replaced);
    s.lastSeenWritten = now;
    this.#sendRaw(s, { t: "welcome", connectorId: record.id, heartbeatMs: this.limits.heartbeatMs });
    s.timers.push(setInterval(() => this.#heartbeat(s), this.limits.heartbeatMs));
    log.info("connector online", { connectorId: record.id, version: s.version, remoteAddress: s.remoteAddress });
    await this.#o.events.publish(record.org, "connector.online", {
      connectorId: record.id,
      name: record.name,
      version: s.version,
      remoteAddress: s.remoteAddress,
    });
  }

  /**
   * Audits a connector's refused handshake, sets its last error and publishes `connector.auth_failed` — at
   * most once per `refusalNoteMs` per connector (the note's key is claimed in the audit row's commit), so
   * failing sockets from many addresses still write a bounded amount. True when this refusal was recorded.
   */
  async #recordRefusal(record: ConnectorRecord, close: Close, why: string, remoteAddress: string | null) {
    const { kv, clock, registry } = this.#o;
    const key = ["connector_refusal_noted", record.org, record.id];
    const now = clock.now();
    const last = await kv.get<number>(key);
    if (last.value !== null && now - last.value < this.limits.refusalNoteMs) return false;
    const op = kv.atomic().check(last).set(key, now, { expireIn: this.limits.refusalNoteMs * 2 });
    auditInto(
      op,
      record.org,
      { id: `connector:${record.id}`, label: `connector ${record.name}` },
      "connector.auth_failed",
      { target: record.id, details: { reason: why, remoteAddress }, now },
    );
    if (!(await op.commit()).ok) return false; // another socket's refusal got there first
    await registry.setStatus(record.org, record.id, { lastError: `${close.reason} (${why})` });
    await this.#o.events.publish(record.org, "connector.auth_failed", {
      connectorId: record.id,
      name: record.name,
      reason: why,
      remoteAddress,
    });
    return true;
  }

  #heartbeat(s: Session) {
    if (s.closed || !s.record) return;
    if (Date.now() - s.lastFrameAt > this.limits.heartbeatMs * 3) return this.#close(s, CLOSE.heartbeatLost);
    this.#sendRaw(s, { t: "ping", at: this.#o.clock.now() });
    const now = this.#o.clock.now();
    const { org, id } = s.record;
    this.#o.registry.renew(org, id, {
      node: this.node,
      session: s.id,
      expiresAt: now + this.limits.heartbeatMs * 3,
      pending: s.pending.size,
    }).then((held) => {
      if (held || s.closed) return;
      // A newer socket took the lease (its kick did not reach us) or it lapsed: give way, the agent reconnects.
      this.#o.log.info("connector lease lost", { connectorId: id });
      this.#close(s, CLOSE.replaced);
    }).catch((error) => this.#o.log.warn("lease renewal failed", { error }));
  }

  /** Records "last seen" at most once per heartbeat period (KV writes stay bounded with many agents). */
  async #touch(s: Session) {
    const now = this.#o.clock.now();
    if (!s.record || now - s.lastSeenWritten < this.limits.heartbeatMs / 2) return;
    s.lastSeenWritten = now;
    await this.#o.registry.setStatus(s.record.org, s.record.id, { lastSeen: new Date(now).toISOString() });
  }

  async #onClosed(s: Session) {
    if (!this.#sessions.delete(s)) return;
    if (s.admitted) this.#countAddress(s, { open: -1, handshaking: this.#handshaking.has(s) ? -1 : 0 });
    this.#handshaking.delete(s);
    s.closed = true;
    for (const t of s.timers) clearTimeout(t);
    const r = s.record;
    if (!r) return;
    if (this.#ready.get(r.id) === s) this.#ready.delete(r.id);
    this.#prune(s);
    const pending = [...s.pending.keys()];
    s.pending.clear();
    try {
      // Only the socket that still holds the lease reports the connector offline: a replaced one does not.
      const released = await this.#o.registry.release(r.org, r.id, s.id);
      if (pending.length) await this.#o.hooks.orphaned(r.org, r.id, pending);
      if (!released) return;
      const now = this.#o.clock.now();
      await this.#o.registry.setStatus(r.org, r.id, { lastSeen: new Date(now).toISOString(), connectedSince: null });
      this.#o.log.info("connector offline", { connectorId: r.id });
      await this.#o.events.publish(r.org, "connector.offline", {
        connectorId: r.id,
        name: r.name,
        reason: this.#closing ? "hub shutting down" : "disconnected",
      });
    } catch (error) {
      // The KV handle may already be closed at shutdown; the lease then simply expires.
      this.#o.log.debug("offline bookkeeping failed", { error });
    }
  }
}
