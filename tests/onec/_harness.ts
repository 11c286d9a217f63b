/** Builds the 1C service against a fresh Bitrix24 fake, with in-memory KV and a movable clock. */
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { createOrg } from "../../lib/accounts/store.ts";
import { testConfig } from "../../lib/config.ts";
import type { Clock } from "../../lib/clock.ts";
import { systemClock } from "../../lib/clock.ts";
import { SecretBox } from "../../lib/crypto/secret_box.ts";
import { memoryLogger } from "../../lib/log.ts";
import { type OnecRequest, onecRequestSchema } from "../../lib/onec/request_schema.ts";
import { OnecService } from "../../lib/onec/service.ts";
import { SETTINGS_SECTION } from "../../lib/onec/settings.ts";
import { SettingsStore } from "../../lib/settings.ts";
import { type Bitrix24Fake, type Bitrix24FakeOptions, startBitrix24Fake } from "../fakes/bitrix24.ts";

/** Wednesday 12 March 2025, 10:00 Moscow time: a working day. */
export const WEDNESDAY_10AM = Date.parse("2025-03-12T10:00:00+03:00");

/** Real time flowing from a fixed start, plus jumps the test makes. */
export class TestClock implements Clock {
  offset = 0;
  readonly #t0 = performance.now();
  constructor(readonly start = WEDNESDAY_10AM) {}
  now(): number {
    return this.start + (performance.now() - this.#t0) + this.offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
  jump(ms: number): void {
    this.offset += ms;
  }
}

export interface Harness {
  fake: Bitrix24Fake;
  svc: OnecService;
  kv: Deno.Kv;
  clock: TestClock;
  org: string;
  events: Array<{ type: string; data: Record<string, unknown> }>;
  settings: SettingsStore;
  close(): Promise<void>;
}

export async function setup(
  { fake: fakeOpts = {}, settings = {}, start }: {
    fake?: Bitrix24FakeOptions;
    settings?: Record<string, unknown>;
    start?: number;
  } = {},
): Promise<Harness> {
  const clock = new TestClock(start);
  const fake = await startBitrix24Fake({ now: () => clock.now(), ...fakeOpts });
  const kv = await Deno.openKv(":memory:");
  const config = testConfig({ BITRIX_WEBHOOK: fake.webhookUrl });
  const store = new SettingsStore(kv, await SecretBox.fromBase64(config.SHLYUZ_SECRET_KEY!));
  // The first organization, as bootstrap creates it: the only one BITRIX_WEBHOOK applies to.
  const org = (await createOrg(kv, "Завод", { actor: SYSTEM_ACTOR })).id;
  if (Object.keys(settings).length) await store.write(org, SETTINGS_SECTION, settings, ["webhookUrl"]);
  const events: Harness["events"] = [];
  const svc = new OnecService({
    kv,
    clock,
    log: memoryLogger("error"),
    fetch: globalThis.fetch,
    config,
    settings: store,
    events: {
      publish: (_org, type, data) => {
        events.push({ type, data });
        return Promise.resolve();
      },
    },
  });
  return {
    fake,
    svc,
    kv,
    clock,
    org,
    events,
    settings: store,
    close: async () => {
      kv.close();
      await fake.close();
    },
  };
}

/** A one-task 1C request. */
export function request(id: string, calculation: string, extra: Record<string, unknown> = {}): OnecRequest {
  return onecRequestSchema.parse({
    tasks: [{
      id,
      calculation,
      title: `Задача ${id}`,
      description: "Описание из 1С",
      priority: "normal",
      author: { name: "Иванова Мария Петровна", email: "m.ivanova@zavod.example" },
      observers: [],
      files: [],
      ...extra,
    }],
  });
}
