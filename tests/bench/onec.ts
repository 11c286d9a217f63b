/**
 * 1C → Bitrix24 benchmark against the Bitrix24 fake on loopback.
 *
 * 1. Bitrix calls per 1C request with warm caches (target ≤ 2).
 * 2. A burst of 100 concurrent 1C requests against the fake's leaky bucket:
 *    total time against the floor the limit sets — (calls − burst) / rate —
 *    (target ≤ 1.1 × floor) and errors surfaced (target 0).
 *
 * The bucket is scaled to 20 req/s (burst 50) so the run takes seconds; the
 * floor scales with it. `ONEC_BENCH_RATE=2` runs the real 2 req/s (≈ 75 s;
 * then raise the time budget, see docs-onec.md).
 */
import { testConfig } from "../../lib/config.ts";
import { SecretBox } from "../../lib/crypto/secret_box.ts";
import { memoryLogger } from "../../lib/log.ts";
import { onecRequestSchema } from "../../lib/onec/request_schema.ts";
import { OnecService } from "../../lib/onec/service.ts";
import { SECRET_FIELDS, SETTINGS_SECTION } from "../../lib/onec/settings.ts";
import { SettingsStore } from "../../lib/settings.ts";
import { startBitrix24Fake } from "../fakes/bitrix24.ts";

const SECTIONS = ["Сварочный участок", "Участок покраски", "Механообработка", "Сборка металлоконструкций"];
const WEDNESDAY = Date.parse("2025-03-12T10:00:00+03:00");

function req(id: string, i: number) {
  return onecRequestSchema.parse({
    tasks: [{
      id,
      calculation: SECTIONS[i % SECTIONS.length],
      title: `Заказ ${id}: изготовить по калькуляции`,
      description: "Бенчмарк",
      priority: "normal",
      author: { name: "Иванова Мария Петровна", email: "m.ivanova@zavod.example" },
    }],
  });
}

export async function run(): Promise<Record<string, number | string>> {
  const rate = Number(Deno.env.get("ONEC_BENCH_RATE") ?? 20);
  const burst = 50;
  const t0 = performance.now();
  const now = () => WEDNESDAY + (performance.now() - t0);
  const clock = { now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const fake = await startBitrix24Fake({ now, rateLimit: { ratePerSec: rate, burst } });
  const kv = await Deno.openKv(":memory:");
  try {
    const config = testConfig({ BITRIX_WEBHOOK: fake.webhookUrl });
    const settings = new SettingsStore(kv, await SecretBox.fromBase64(config.SHLYUZ_SECRET_KEY!));
    // "bench" is not the bootstrap organization, so it needs its own webhook (BITRIX_WEBHOOK is only the first org's).
    await settings.write(
      "bench",
      SETTINGS_SECTION,
      { webhookUrl: fake.webhookUrl, ratePerSec: rate, burst, budgetMs: 90_000 },
      SECRET_FIELDS,
    );
    const svc = new OnecService({
      kv,
      clock,
      log: memoryLogger("error"),
      fetch: globalThis.fetch,
      config,
      settings,
      events: { publish: () => Promise.resolve() },
    });

    // Warm the caches (one request per section), then measure single requests.
    for (let i = 0; i < SECTIONS.length; i++) await svc.intake("bench", req(`warm-${i}`, i));
    const warmCalls: number[] = [];
    for (let i = 0; i < 8; i++) warmCalls.push((await svc.intake("bench", req(`single-${i}`, i))).log.bitrixCalls);
    const updateCalls = (await svc.intake("bench", req("single-0", 0))).log.bitrixCalls;

    // Let both buckets drain so the burst starts from empty.
    await clock.sleep(Math.ceil((fake.bucket!.level / rate) * 1000) + 200);
    const callsBefore = fake.state.calls.length;
    const rejectedBefore = fake.state.rejected;
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => svc.intake("bench", req(`burst-${i}`, i))));
    const elapsed = (performance.now() - started) / 1000;
    const calls = fake.state.calls.length - callsBefore;
    const floor = Math.max(0, calls - burst) / rate;
    const errors = results.filter((r) => r.outcome !== "ok").length;
    const figures = {
      "warm_calls_per_new_task_max": Math.max(...warmCalls),
      "warm_calls_per_update": updateCalls,
      "burst_requests": 100,
      "burst_bitrix_calls": calls,
      "rate_limit": `${rate}/s burst ${burst}`,
      "burst_seconds": Number(elapsed.toFixed(2)),
      "floor_seconds": Number(floor.toFixed(2)),
      "ratio_to_floor": Number((elapsed / floor).toFixed(3)),
      "errors_surfaced": errors,
      "portal_rejections_503": fake.state.rejected - rejectedBefore,
      "max_bucket_level": Number(fake.bucket!.maxLevel.toFixed(2)),
    };
    // deno-lint-ignore no-console
    console.log("1C → Bitrix24 bench", figures);
    return figures;
  } finally {
    kv.close();
    await fake.close();
  }
}

if (import.meta.main) await run();
