/**
 * The RabbitMQ bridge (AMQP_URL): consumes the durable `TaskProcessingQueue`
 * and moves tasks into the KV queue, acking each message only after the KV
 * commit that holds it; publishes `{task_id, id}` persistently to
 * `TaskResultDeliveryQueue` with publisher confirms. A malformed message is
 * published to `<task queue>.dead` with the reason in the
 * `x-shlyuz-reason` header, recorded as a dead letter, and acked — never
 * requeued in a loop. The bridge reconnects by itself (backoff with jitter).
 */
import { Buffer } from "node:buffer";
// Loaded on the first connect (only a hub with AMQP_URL needs it): see #connect.
import type amqp from "amqplib";
import { type Clock, systemClock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { redactText } from "../log.ts";
import { isSizeError } from "./commit_size.ts";
import { parseTaskBytes, type TaskResult } from "./task_schema.ts";

export type BridgeState = "connecting" | "connected" | "disconnected" | "closed";

export interface BridgeStatus {
  state: BridgeState;
  since: string;
  taskQueue: string;
  resultQueue: string;
  lastError?: string;
  consumed: number;
  published: number;
  rejected: number;
  reconnects: number;
}

export interface AmqpBridgeOptions {
  url: string;
  taskQueue: string;
  resultQueue: string;
  /** The organization the bridged tasks belong to. */
  org: () => string | Promise<string>;
  /** Puts valid tasks on the KV queue (one commit for the lot). */
  submit(org: string, tasks: unknown[]): Promise<unknown>;
  /** Records a malformed message as a dead letter. */
  deadLetter(org: string, raw: unknown, reason: string): Promise<void>;
  log: Logger;
  /** Times the pause before a batch that could not be moved goes back to the broker. Default: the real clock. */
  clock?: Clock;
  /** Unacked messages the broker may push at once. Default 1000. */
  prefetch?: number;
  /** Tasks carried per KV commit; a partial batch goes after `flushMs`. Defaults 200, 15 ms. */
  batchSize?: number;
  flushMs?: number;
  /** Cap of the reconnect backoff. Default 30 s. */
  maxBackoffMs?: number;
}

type Msg = amqp.ConsumeMessage;

export class AmqpBridge {
  readonly #o: AmqpBridgeOptions;
  #conn: amqp.ChannelModel | null = null;
  #consumeCh: amqp.Channel | null = null;
  #confirmCh: amqp.ConfirmChannel | null = null;
  #status: BridgeStatus;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #pending: Array<{ msg: Msg; task: unknown }> = [];
  #flushing: Promise<void> = Promise.resolve();
  #failures = 0;
  /** Failed moves to the KV queue in a row (the pause before returning a batch grows with it). */
  #flushFailures = 0;
  /** Aborted on close: ends a pause at once. */
  readonly #closing = new AbortController();

  constructor(options: AmqpBridgeOptions) {
    this.#o = options;
    this.#status = {
      state: "connecting",
      since: new Date().toISOString(),
      taskQueue: options.taskQueue,
      resultQueue: options.resultQueue,
      consumed: 0,
      published: 0,
      rejected: 0,
      reconnects: 0,
    };
  }

  /** Connects in the background; resolves after the first attempt (connected or not). */
  start(): Promise<void> {
    return this.#connect();
  }

  /** The bridge's state for the page and `/healthz`. */
  status(): BridgeStatus {
    return { ...this.#status };
  }

  /** Publishes results persistently and waits for the broker's confirms. Throws when disconnected. */
  async publishResults(results: TaskResult[]): Promise<void> {
    const ch = this.#confirmCh;
    if (!ch) throw new Error(`Cannot publish results: RabbitMQ is ${this.#status.state}`);
    for (const r of results) {
      ch.sendToQueue(this.#o.resultQueue, Buffer.from(JSON.stringify({ task_id: r.task_id, id: r.id })), {
        persistent: true,
        contentType: "application/json",
        // Stable per result: a consumer can drop the repeat that at-least-once delivery may bring.
        messageId: `${r.task_id}:${r.id}`,
      });
    }
    await ch.waitForConfirms();
    this.#status.published += results.length;
  }

  /** Drops the connection as a broker restart would (tests). */
  async dropConnection(): Promise<void> {
    await this.#conn?.close().catch(() => {});
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#closing.abort();
    clearTimeout(this.#timer);
    clearTimeout(this.#flushTimer);
    await this.#flush();
    await this.#flushing;
    this.#setState("closed");
    const conn = this.#conn;
    this.#conn = null;
    await conn?.close().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#setState("connecting");
    try {
      const { default: amqplib } = await import("amqplib");
      const conn = await amqplib.connect(this.#o.url);
      conn.on("error", (e: Error) => this.#status.lastError = redactText(e.message));
      conn.on("close", () => this.#lost(conn));
      this.#conn = conn;
      const confirm = await conn.createConfirmChannel();
      await confirm.assertQueue(this.#o.taskQueue, { durable: true });
      await confirm.assertQueue(this.#o.resultQueue, { durable: true });
      await confirm.assertQueue(this.#deadQueue, { durable: true });
      const consume = await conn.createChannel();
      await consume.prefetch(this.#o.prefetch ?? 1000);
      this.#confirmCh = confirm;
      this.#consumeCh = consume;
      await consume.consume(this.#o.taskQueue, (msg) => msg && this.#onMessage(consume, msg), { noAck: false });
      this.#failures = 0;
      this.#setState("connected");
      this.#o.log.info("RabbitMQ bridge connected", { taskQueue: this.#o.taskQueue });
    } catch (error) {
      this.#status.lastError = redactText(error instanceof Error ? error.message : String(error));
      this.#o.log.warn("RabbitMQ bridge cannot connect", { reason: this.#status.lastError });
      const conn = this.#conn;
      this.#conn = null;
      await conn?.close().catch(() => {});
      this.#schedule();
    }
  }

  get #deadQueue(): string {
    return `${this.#o.taskQueue}.dead`;
  }

  #lost(conn: amqp.ChannelModel) {
    if (this.#conn !== conn) return;
    this.#conn = null;
    this.#consumeCh = null;
    this.#confirmCh = null;
    // Unacked messages go back to the broker with the connection; the copies in #pending must not be acked later.
    this.#pending = [];
    if (this.#stopped) return;
    this.#o.log.warn("RabbitMQ connection lost, reconnecting", { reason: this.#status.lastError });
    this.#schedule();
  }

  #schedule() {
    if (this.#stopped) return;
    this.#setState("disconnected");
    const exp = Math.min(this.#o.maxBackoffMs ?? 30_000, 500 * 2 ** this.#failures++);
    const wait = Math.round(exp / 2 + Math.random() * exp / 2);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#status.reconnects++;
      this.#connect();
    }, wait);
  }

  #setState(state: BridgeState) {
    if (this.#status.state !== state) this.#status.since = new Date().toISOString();
    this.#status.state = state;
  }

  #onMessage(ch: amqp.Channel, msg: Msg) {
    this.#status.consumed++;
    const v = parseTaskBytes(new Uint8Array(msg.content));
    if (!v.ok) {
      this.#reject(ch, msg, v.message);
      return;
    }
    this.#pending.push({ msg, task: v.task });
    if (this.#pending.length >= (this.#o.batchSize ?? 200)) this.#flush();
    else if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => this.#flush(), this.#o.flushMs ?? 15);
    }
  }

  #flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#pending.splice(0);
    const ch = this.#consumeCh;
    if (batch.length === 0 || !ch) return this.#flushing;
    this.#flushing = this.#flushing.then(() => this.#move(ch, batch));
    return this.#flushing;
  }

  /**
   * Moves a batch into the KV queue and acks it. A batch KV finds too large
   * is split in halves; one that still fails goes back to the broker only
   * after a growing pause, so a poison batch cannot spin between broker and hub.
   */
  async #move(ch: amqp.Channel, batch: Array<{ msg: Msg; task: unknown }>): Promise<void> {
    try {
      const org = await this.#o.org();
      await this.#o.submit(org, batch.map((b) => b.task));
      for (const b of batch) ch.ack(b.msg);
      this.#flushFailures = 0;
    } catch (error) {
      if (batch.length > 1 && isSizeError(error) && !this.#stopped) {
        const half = Math.ceil(batch.length / 2);
        await this.#move(ch, batch.slice(0, half));
        await this.#move(ch, batch.slice(half));
        return;
      }
      const exp = Math.min(this.#o.maxBackoffMs ?? 30_000, 250 * 2 ** this.#flushFailures++);
      this.#o.log.error("cannot move RabbitMQ tasks to the KV queue; returning them to the broker after a pause", {
        error,
        count: batch.length,
        pauseMs: exp,
      });
      await this.#pause(exp);
      for (const b of batch) safe(() => ch.nack(b.msg, false, true));
    }
  }

  /** Waits `ms`, or less when the bridge closes. */
  async #pause(ms: number): Promise<void> {
    if (this.#stopped) return;
    await (this.#o.clock ?? systemClock).sleep(ms, this.#closing.signal).catch(() => {}); // aborted: closing
  }

  async #reject(ch: amqp.Channel, msg: Msg, reason: string) {
    this.#status.rejected++;
    try {
      const org = await this.#o.org();
      const confirm = this.#confirmCh;
      if (!confirm) throw new Error("no confirm channel");
      confirm.sendToQueue(this.#deadQueue, msg.content, {
        persistent: true,
        headers: { "x-shlyuz-reason": reason, "x-shlyuz-source-queue": this.#o.taskQueue },
      });
      await confirm.waitForConfirms();
      let raw: unknown = msg.content.toString("utf8");
      try {
        raw = JSON.parse(raw as string);
      } catch {
        // keep the text as it came
      }
      await this.#o.deadLetter(org, raw, reason);
      ch.ack(msg);
    } catch (error) {
      // Could not park it: let the broker's own dead-lettering (if configured) take it, without requeue.
      this.#o.log.error("cannot dead-letter a malformed RabbitMQ message; rejecting it", { error, reason });
      safe(() => ch.nack(msg, false, false));
    }
  }
}

function safe(fn: () => void) {
  try {
    fn();
  } catch {
    // the channel is gone; the broker redelivers unacked messages
  }
}
