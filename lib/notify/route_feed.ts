/**
 * Durable routing. Every event is routed twice over, and sent once:
 *
 * - live: the bus hands each published event to `route()` at once (the fast
 *   path — a notification leaves within milliseconds);
 * - from the log: the bus stores every event in KV (`["event", org, ulid]`)
 *   before it fans it out, so `sweep()` reads the log after a per-organization
 *   cursor (`["nroute_cursor", org]`) and routes what this process has not
 *   routed itself. At start-up it reads up to now — an event committed just
 *   before a crash, whose subscriber never ran, is routed then; later sweeps
 *   (each minute, and after live routing at most every `sweepEveryMs`) read
 *   up to `graceMs` ago and move the cursor there, so an event whose commit
 *   lagged behind its id is still found.
 *
 * Routing twice sends nothing twice: the router writes a marker per (source,
 * rule) in the same commit as the deliveries, and each delivery's id is a
 * hash of (source, rule, recipient) (lib/notify/router.ts) — at-least-once
 * routing, one message.
 */
import type { HubEvent } from "../events/mod.ts";
import type { EventBus } from "../events/bus.ts";
import type { Logger } from "../log.ts";
import type { Router } from "./router.ts";
import { idFloor } from "../ids.ts";

const PAGE = 500;
/** Event ids this process routed, remembered so a sweep skips them (the markers would stop them anyway). */
const RECENT_LIMIT = 50_000;

export interface RouteFeedDeps {
  kv: Deno.Kv;
  events: Pick<EventBus, "since">;
  router: Pick<Router, "route">;
  log: Logger;
  now: () => number;
  /** How far behind now a sweep stops (an event's commit may lag behind its id). Default 60 s. */
  graceMs?: number;
  /** Live routing triggers a sweep at most this often. Default 10 s. */
  sweepEveryMs?: number;
}

export class RouteFeed {
  readonly #d: Required<RouteFeedDeps>;
  readonly #recent = new Set<string>();
  readonly #sweeping = new Map<string, Promise<number>>();
  #lastSweep = 0;

  constructor(deps: RouteFeedDeps) {
    this.#d = { graceMs: 60_000, sweepEveryMs: 10_000, ...deps };
  }

  static cursorKey(org: string): Deno.KvKey {
    return ["nroute_cursor", org];
  }

  /** Routes one event now (the live path, and mail before its cursor moves); remembers it as routed. */
  async route(event: HubEvent): Promise<number> {
    const n = await this.#d.router.route(event);
    this.#remember(event.id);
    return n;
  }

  #remember(id: string) {
    this.#recent.add(id);
    if (this.#recent.size > RECENT_LIMIT) {
      // A Set iterates in insertion order: drop the oldest tenth.
      let drop = RECENT_LIMIT / 10;
      for (const old of this.#recent) {
        if (drop-- <= 0) break;
        this.#recent.delete(old);
      }
    }
  }

  /** Whether a sweep is due (live routing calls this to sweep now and then without a timer). */
  sweepDue(): boolean {
    return this.#d.now() - this.#lastSweep >= this.#d.sweepEveryMs;
  }

  /**
   * Routes the organizations' stored events after their cursors that this
   * process has not routed, up to `upTo` (default: `graceMs` ago), and moves
   * each cursor there. Returns how many deliveries it queued.
   */
  async sweep(orgs: string[], { upTo }: { upTo?: number } = {}): Promise<number> {
    this.#lastSweep = this.#d.now();
    let queued = 0;
    for (const org of orgs) {
      // One sweep per organization at a time in this process; a second caller waits for it.
      const running = this.#sweeping.get(org);
      if (running) {
        queued += await running;
        continue;
      }
      const p = this.#sweepOrg(org, upTo ?? this.#d.now() - this.#d.graceMs).finally(() => this.#sweeping.delete(org));
      this.#sweeping.set(org, p);
      queued += await p;
    }
    return queued;
  }

  async #sweepOrg(org: string, upTo: number): Promise<number> {
    const key = RouteFeed.cursorKey(org);
    const stored = await this.#d.kv.get<string>(key);
    // No cursor yet (a new organization, or the first start of this version): the grace window back.
    let after = stored.value ?? idFloor(this.#d.now() - this.#d.graceMs);
    // The cursor never passes the grace line: what is newer may still be committing.
    const graceLine = idFloor(this.#d.now() - this.#d.graceMs);
    const horizon = idFloor(Math.min(upTo, this.#d.now()) + 1);
    let queued = 0;
    let complete = true;
    scan: for (;;) {
      const page = await this.#d.events.since(org, { afterId: after, limit: PAGE });
      for (const e of page) {
        if (e.id >= horizon) break scan;
        if (!this.#recent.has(e.id)) {
          try {
            queued += await this.route(e);
          } catch (error) {
            // The cursor stays before it: the next sweep tries again.
            this.#d.log.error("notify: routing a stored event failed", { type: e.type, event: e.id, error });
            complete = false;
            break scan;
          }
        }
        after = e.id;
      }
      if (page.length < PAGE) break;
    }
    // Everything before `after` (and, when the scan completed, before the horizon) has been routed.
    const reached = complete ? horizon : after;
    const next = reached < graceLine ? reached : graceLine;
    if (!stored.value || stored.value < next) {
      // Only ever forward: another process may have moved it meanwhile.
      const cur = await this.#d.kv.get<string>(key);
      if (!cur.value || cur.value < next) await this.#d.kv.atomic().check(cur).set(key, next).commit();
    }
    return queued;
  }
}
