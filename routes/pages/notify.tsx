/**
 * The Notifications page (Russian first): bots with their health, groups and
 * contacts to approve, mailboxes with "Test connection", the rules editor with
 * its tester, and the delivery log — each section live.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { hasRole } from "../../lib/accounts/roles.ts";
import { Layout } from "./layout.tsx";
import { render } from "./render.ts";
import { requirePage } from "../middleware/auth.ts";
import { Island, registerIsland } from "./island.tsx";
import { islandI18n, pageT } from "./i18n.ts";
import NotifySetup from "../../islands/notify_setup.tsx";
import NotifyRules from "../../islands/notify_rules.tsx";
import NotifyLog from "../../islands/notify_log.tsx";
import { botView } from "../../lib/notify/bots.ts";
import { mailboxView } from "../../lib/notify/mail/mailboxes.ts";
import { eventTypes } from "../../lib/notify/catalogue.ts";

registerIsland("notify_setup", NotifySetup);
registerIsland("notify_rules", NotifyRules);
registerIsland("notify_log", NotifyLog);

export function notifyPages(hub: Hub) {
  const app = new Hono<AppEnv>();
  app.get("/", requirePage("viewer"), async (c) => {
    const page = c.var.page;
    const org = page.org.id;
    const { t } = pageT(page);
    const n = hub.notify;
    const [bots, chats, boxes, rules, deliveries] = await Promise.all([
      n.store.listBots(org),
      n.store.listChats(org),
      n.mailboxes.list(org),
      n.listRules(org),
      n.store.listDeliveries(org, { limit: 50 }),
    ]);
    const i18n = islandI18n(page, ["notify."]);
    const canWrite = hasRole(page.role, "admin");
    const canSend = hasRole(page.role, "operator");
    const chatItems = chats.map(({ org: _o, ...rest }) => rest);
    const botItems = bots.map(botView);
    return render(
      c,
      <Layout title={t("notify.title")} active="notifications" page={page}>
        <div class="notify-page">
          <p>{t("notify.lead")}</p>
          <nav>
            <ul>
              <li>
                <a href="#bots">{t("notify.bots")}</a>
              </li>
              <li>
                <a href="#chats">{t("notify.chats")}</a>
              </li>
              <li>
                <a href="#mailboxes">{t("notify.mail")}</a>
              </li>
              <li>
                <a href="#rules">{t("notify.rules")}</a>
              </li>
              <li>
                <a href="#log">{t("notify.log")}</a>
              </li>
            </ul>
          </nav>
          <Island
            name="notify_setup"
            props={{ i18n, bots: botItems, chats: chatItems, mailboxes: boxes.map(mailboxView), canWrite }}
          />
          <h2 id="rules">{t("notify.rules")}</h2>
          <Island
            name="notify_rules"
            props={{
              i18n,
              rules,
              eventTypes: eventTypes(),
              chats: chatItems,
              bots: botItems,
              canWrite,
              canTest: canSend,
            }}
          />
          <h2 id="log">{t("notify.log")}</h2>
          <Island
            name="notify_log"
            props={{ i18n, deliveries: deliveries.map(({ org: _o, ...rest }) => rest), chats: chatItems, canSend }}
          />
        </div>
      </Layout>,
    );
  });
  return app;
}
