/** The page side of translation: the translator of a page, role names, and the messages an island gets. */
import type { PageContext } from "../app_env.ts";
import { type MessageKey, messagesFor, type Translator, translator } from "../../lib/i18n/mod.ts";
import type { Role } from "../../lib/accounts/roles.ts";
import type { IslandI18n } from "../../islands/_i18n.ts";
import type { FormText } from "../../islands/api_form.tsx";

/** Every role's name in the catalogue (literal keys, so the catalogue test sees them used). */
export const ROLE_LABEL: Record<Role, MessageKey> = {
  owner: "common.role.owner",
  admin: "common.role.admin",
  operator: "common.role.operator",
  viewer: "common.role.viewer",
};

/** The translator of the page's language. */
export function pageT(page: PageContext): Translator {
  return translator(page.locale);
}

/** Role options for a select, labelled in the page's language. */
export function roleOptions(page: PageContext, roles: readonly Role[]): Array<{ value: string; label: string }> {
  const { t } = translator(page.locale);
  return roles.map((r) => ({ value: r, label: t(ROLE_LABEL[r]) }));
}

/** What an island needs to speak the page's language: the messages under `prefixes`, the language, the zone. */
export function islandI18n(page: PageContext, prefixes: readonly string[]): IslandI18n {
  return { locale: page.locale, timeZone: page.timeZone, messages: messagesFor(page.locale, ["common.", ...prefixes]) };
}

/** The fixed words of the generic form island. */
export function formText(page: PageContext): FormText {
  const { t } = translator(page.locale);
  return {
    failed: t("common.failed"),
    showOnce: t("common.showOnce"),
    copy: t("common.copy"),
    copied: t("common.copied"),
    done: t("settings.saved"),
  };
}
