/** The typed Hono context every route shares. */
import type { Hub } from "../lib/hub.ts";
import type { Logger } from "../lib/log.ts";
import type { Role } from "../lib/accounts/roles.ts";
import type { Org } from "../lib/accounts/store.ts";
import type { Locale } from "../lib/i18n/mod.ts";

export type { Role };

export interface AuthInfo {
  org: string;
  role: Role;
  userId?: string;
  tokenId?: string;
  via: "token" | "session";
  /** For the audit log: "user:<id>" / "token:<id>" and a readable label. */
  actor: { id: string; label: string };
}

/** What every admin page needs to render its frame. */
export interface PageContext {
  user: { id: string; email: string; name: string };
  org: Org;
  orgs: Array<{ org: Org; role: Role }>;
  role: Role;
  csrf: string;
  /** The language the page is shown in (lib/ui/preferences.ts). */
  locale: Locale;
  /** The organization's time zone: every date on the page is shown in it. */
  timeZone: string;
}

export type AppEnv = {
  Variables: {
    hub: Hub;
    auth: AuthInfo;
    requestId: string;
    log: Logger;
    page: PageContext;
  };
};
