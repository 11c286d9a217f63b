/**
 * Row ids for the KV sink from an atomic per-organization counter
 * `["rowseq", org]`. Ids are reserved in blocks so that the hot path (one
 * commit per batch of tasks) does not contend on the counter; a crash leaves
 * a gap in the ids, never a duplicate.
 */

export class IdAllocator {
  readonly #kv: Deno.Kv;
  readonly #block: number;
  readonly #ranges = new Map<string, { next: number; end: number }>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(kv: Deno.Kv, { block = 200 }: { block?: number } = {}) {
    this.#kv = kv;
    this.#block = block;
  }

  /** `n` fresh ids for `org`, ascending. */
  take(org: string, n: number): Promise<number[]> {
    // One allocation at a time per org within this process; across processes the counter's check decides.
    const prev = this.#locks.get(org) ?? Promise.resolve();
    const run = prev.then(() => this.#take(org, n));
    this.#locks.set(org, run.catch(() => {}));
    return run;
  }

  async #take(org: string, n: number): Promise<number[]> {
    const out: number[] = [];
    while (out.length < n) {
      let r = this.#ranges.get(org);
      if (!r || r.next > r.end) {
        r = await this.#reserve(org, Math.max(this.#block, n - out.length));
        this.#ranges.set(org, r);
      }
      while (out.length < n && r.next <= r.end) out.push(r.next++);
    }
    return out;
  }

  async #reserve(org: string, size: number): Promise<{ next: number; end: number }> {
    const key = ["rowseq", org];
    for (let i = 0;; i++) {
      const cur = await this.#kv.get<number>(key);
      const start = (cur.value ?? 0) + 1;
      const end = start + size - 1;
      const res = await this.#kv.atomic().check(cur).set(key, end).commit();
      if (res.ok) return { next: start, end };
      if (i > 50) throw new Error(`Cannot reserve row ids for ${org}: the counter is too contended`);
    }
  }
}
