/** Scheduler test fixtures on the one harness: a fake clock, no listener, a `demo.ping` job to target. */
import { z } from "zod";
import type { FetchFn } from "../../lib/http/request.ts";
import { defineJob, defineKind } from "../../lib/queue/queue.ts";
import type { Scheduler } from "../../lib/scheduler/service.ts";
import { FakeClock } from "./clocks.ts";
import { startTestHub, type TestHub } from "./hub.ts";

export { FakeClock } from "./clocks.ts";
export { recordingServer } from "./recording_server.ts";

export const demoPingKind = defineKind({
  kind: "demo.ping",
  payload: z.object({ to: z.string() }),
  description: "A test job internal actions can target",
  schedulable: true,
});

/**
 * A hub at `now` on a fake clock, without HTTP or queue listener (tests drive `fire` and count
 * enqueues themselves), with `demo.ping` registered; `scheduler` is `hub.scheduler`.
 */
export async function setup(
  { now = "2025-06-02T09:00:00Z", fetch, env = {} }: { now?: string; fetch?: FetchFn; env?: Record<string, string> } =
    {},
): Promise<TestHub & { scheduler: Scheduler; clock: FakeClock }> {
  const clock = new FakeClock(Date.parse(now));
  const t = await startTestHub({ http: false, listen: false, clock, fetch, env });
  t.hub.queue.register(defineJob(demoPingKind, { handle: () => Promise.resolve() }));
  return Object.assign(t, { scheduler: t.hub.scheduler, clock });
}
