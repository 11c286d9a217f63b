/**
 * Enqueuing `task.process` messages with an inbox record: every message is
 * recorded under `["inbox", id]` until a handler has settled it. Deno KV on
 * a file hands the messages a killed process had in flight to the next
 * process only after about a minute; `recover()` at start-up re-enqueues them
 * at once (the claims make the late original copies harmless).
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { QueueFor } from "../queue/queue.ts";
import { newId } from "../ids.ts";
import { chunkBySize, estimateBytes } from "./commit_size.ts";
import { COMMIT_CHUNK } from "./processor_types.ts";
import type { EnrichmentKinds, ProcessPayload } from "./kinds.ts";

interface InboxEntry {
  org: string;
  payload: ProcessPayload;
  /** When the message became due (epoch ms). */
  at: number;
}

const INBOX_TTL = 7 * 24 * 3600_000;
const inboxKey = (id: string): Deno.KvKey => ["inbox", id];

export class Inbox {
  readonly #o: { kv: Deno.Kv; queue: QueueFor<EnrichmentKinds>; clock: Clock; log: Logger };

  constructor(options: { kv: Deno.Kv; queue: QueueFor<EnrichmentKinds>; clock: Clock; log: Logger }) {
    this.#o = options;
  }

  /** Adds a `task.process` message and its inbox record to an atomic operation. */
  add(op: Deno.AtomicOperation, org: string, payload: ProcessPayload, delayMs?: number): void {
    const env = this.#o.queue.stage(op, { kind: "task.process", payload, org, delayMs });
    op.set(inboxKey(env.id), { org, payload, at: this.#o.clock.now() + (delayMs ?? 0) } satisfies InboxEntry, {
      expireIn: INBOX_TTL,
    });
  }

  /** Splits tasks into `task.process` messages (≤ 100 tasks, ≤ ~48 KB each) and enqueues them; returns the message count. */
  async submit(org: string, tasks: unknown[], source: string): Promise<number> {
    // ≤ 100 tasks and ≤ ~48 KB by the V8 size estimate per message (KV caps a queued value at 64 KiB); one
    // submission id per message: its copies (re-enqueued after a crash, redelivered) share it.
    const payloads: ProcessPayload[] = chunkBySize(tasks, (t) => estimateBytes(t) + 32, COMMIT_CHUNK, 48_000)
      .map((chunk) => {
        const sub = newId();
        return { tasks: chunk.map((task) => ({ task, attempt: 0, sub })), source };
      });
    // Each message is stored twice (enqueue + inbox entry): ≤ 200 messages (KV's 1000 mutations) and
    // ≤ MAX_COMMIT_BYTES (KV's 819,200 bytes per commit) by estimate per commit.
    for (const group of chunkBySize(payloads, (p) => estimateBytes(p) * 2 + 512, 200)) {
      const op = this.#o.kv.atomic();
      for (const p of group) this.add(op, org, p);
      const res = await op.commit();
      if (!res.ok) throw new Error("Cannot enqueue tasks: the KV commit was rejected");
    }
    return payloads.length;
  }

  /** Marks a `task.process` message settled (its tasks are done, rescheduled or dead-lettered). */
  async settled(messageId: string): Promise<void> {
    await this.#o.kv.delete(inboxKey(messageId));
  }

  /** Re-enqueues messages that were in flight when the previous process died (records older than `before`). */
  async recover(before: number): Promise<number> {
    let n = 0;
    for await (const e of this.#o.kv.list<InboxEntry>({ prefix: ["inbox"] })) {
      if (e.value.at >= before) continue;
      const op = this.#o.kv.atomic().check(e).delete(e.key);
      this.add(op, e.value.org, e.value.payload);
      if ((await op.commit()).ok) n++;
    }
    if (n) this.#o.log.info("re-enqueued task batches left in flight by the previous process", { count: n });
    return n;
  }
}
