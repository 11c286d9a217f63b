/** 1C → Bitrix24 test fixtures on the one harness: a Bitrix24 fake, a movable clock, the events published. */
import { type OnecRequest, onecRequestSchema } from "../../lib/onec/request_schema.ts";
import type { OnecService } from "../../lib/onec/service.ts";
import { SETTINGS_SECTION } from "../../lib/onec/settings.ts";
import type { SettingsStore } from "../../lib/settings.ts";
import { type Bitrix24Fake, type Bitrix24FakeOptions, startBitrix24Fake } from "../fakes/bitrix24.ts";
import { TestClock } from "./clocks.ts";
import { startTestHub } from "./hub.ts";

export { TestClock, WEDNESDAY_10AM } from "./clocks.ts";

export interface Harness {
  fake: Bitrix24Fake;
  svc: OnecService;
  kv: Deno.Kv;
  clock: TestClock;
  /** The first organization, as bootstrap creates it: the only one BITRIX_WEBHOOK applies to. */
  org: string;
  /** Events published for the organization, in order. */
  events: Array<{ type: string; data: Record<string, unknown> }>;
  settings: SettingsStore;
  close(): Promise<void>;
}

/** A hub without HTTP whose BITRIX_WEBHOOK is a fresh fake; `svc` is `hub.onec`. */
export async function setup(
  { fake: fakeOpts = {}, settings = {}, start }: {
    fake?: Bitrix24FakeOptions;
    settings?: Record<string, unknown>;
    start?: number;
  } = {},
): Promise<Harness> {
  const clock = new TestClock(start);
  const fake = await startBitrix24Fake({ now: () => clock.now(), ...fakeOpts });
  const t = await startTestHub({ http: false, clock, env: { BITRIX_WEBHOOK: fake.webhookUrl } });
  const { hub, org } = t;
  if (Object.keys(settings).length) await hub.settings.write(org, SETTINGS_SECTION, settings, ["webhookUrl"]);
  const events: Harness["events"] = [];
  const unsubscribe = hub.events.subscribe(org, (e) => events.push({ type: e.type, data: e.data }));
  return {
    fake,
    svc: hub.onec,
    kv: hub.kv,
    clock,
    org,
    events,
    settings: hub.settings,
    close: async () => {
      unsubscribe();
      await t.close();
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
