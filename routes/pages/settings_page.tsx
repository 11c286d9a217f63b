/**
 * The organization's settings page: time zone (a picker of the IANA zones,
 * with where the value comes from and a reset to the environment's default),
 * the private-network switch, and "test connection" for Bitrix24, DaData and
 * YandexGPT. Capability-specific settings stay on their own pages.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { Island, registerIsland } from "./island.tsx";
import { requirePage } from "../middleware/auth.ts";
import { generalSettings } from "../../lib/general_settings.ts";
import { formText, islandI18n, pageT } from "./i18n.ts";
import ConnectionTest from "../../islands/connection_test.tsx";

registerIsland("connection_test", ConnectionTest);

/** Every IANA zone the runtime knows (for the picker). */
export function timeZones(): string[] {
  return Intl.supportedValuesOf("timeZone");
}

export function settingsPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("admin"), async (c) => {
    const page = c.var.page;
    const { t, dateTime } = pageT(page);
    const org = page.org.id;
    const stored = await hub.settings.read(org, "general") ?? {};
    const general = await generalSettings(hub, org);
    const envZone = hub.config.SHLYUZ_TIMEZONE;
    const zoneSource = stored.timezone ? t("settings.source.org") : t("settings.source.env", { value: envZone });
    return render(
      c,
      <Layout title={t("settings.title")} active="settings" page={page}>
        <h2>{t("settings.general")}</h2>
        <p>
          <small>
            {t("settings.timezone.hint")}{" "}
            {t("settings.timezone.now", { time: dateTime(Date.now(), general.timezone) })}. {t("settings.resetHint")}
          </small>
        </p>
        <Island
          name="api_form"
          props={{
            action: "/api/v1/settings/general",
            method: "PUT",
            submitLabel: t("common.save"),
            text: formText(page),
            testId: "general-settings",
            fields: [
              {
                name: "timezone",
                label: t("settings.timezone"),
                value: stored.timezone ? general.timezone : "",
                placeholder: envZone,
                clearable: true,
                source: zoneSource,
                suggestions: timeZones(),
              },
              {
                name: "allowPrivateNetworks",
                label: t("settings.private"),
                type: "checkbox",
                value: general.allowPrivateNetworks,
              },
            ],
          }}
        />
        <h2>{t("settings.connections")}</h2>
        <p>
          <small>{t("settings.connections.lead")}</small>
        </p>
        <Island
          name="connection_test"
          props={{ services: ["bitrix", "dadata", "yandexgpt"], i18n: islandI18n(page, ["settings.test"]) }}
        />
      </Layout>,
    );
  });
  return app;
}
