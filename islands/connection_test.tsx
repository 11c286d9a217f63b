/** "Test connection" buttons for the organization's upstream services, each with its outcome in words. */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

type Service = "bitrix" | "dadata" | "yandexgpt";

export interface ConnectionTestProps {
  services: Service[];
  i18n: IslandI18n;
}

interface Outcome {
  ok: boolean;
  ms: number;
  sample?: string;
  error?: string;
}

const NAME: Record<Service, MessageKey> = {
  bitrix: "settings.test.bitrix",
  dadata: "settings.test.dadata",
  yandexgpt: "settings.test.yandexgpt",
};
const SAMPLE: Record<Service, MessageKey> = {
  bitrix: "settings.test.sample.bitrix",
  dadata: "settings.test.sample.dadata",
  yandexgpt: "settings.test.sample.yandexgpt",
};

export default function ConnectionTest({ services, i18n }: ConnectionTestProps) {
  const { t } = islandTranslator(i18n);
  const [busy, setBusy] = useState<Service | null>(null);
  const [outcomes, setOutcomes] = useState<Partial<Record<Service, Outcome>>>({});

  async function run(service: Service) {
    setBusy(service);
    const res = await api<Outcome>(`/api/v1/settings/test/${service}`, { method: "POST", body: {} });
    setBusy(null);
    const outcome: Outcome = res.ok ? res.data : { ok: false, ms: 0, error: res.error };
    setOutcomes((o) => ({ ...o, [service]: outcome }));
  }

  return (
    <div class="connection-tests">
      {services.map((s) => {
        const o = outcomes[s];
        return (
          <article key={s} data-testid={`test-${s}`}>
            <header>
              <strong>{t(NAME[s])}</strong>
            </header>
            <button type="button" class="secondary outline" aria-busy={busy === s} onClick={() => run(s)}>
              {t("settings.test")}
            </button>
            {o && (
              <p role="status" class={o.ok ? "ok" : "error"} data-testid={`test-${s}-outcome`}>
                {o.ok
                  ? t("settings.test.ok", { ms: o.ms, detail: t(SAMPLE[s], { sample: o.sample ?? "" }) })
                  : t("settings.test.failed", { reason: o.error ?? "" })}
              </p>
            )}
          </article>
        );
      })}
    </div>
  );
}
