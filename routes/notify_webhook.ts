/**
 * `POST /telegram/{botId}`: Telegram's webhook for one bot. The per-bot
 * secret in `X-Telegram-Bot-Api-Secret-Token` is checked by grammY's
 * `webhookCallback(…, "hono", { secretToken })` (none or wrong → 401); the
 * update is handled once per update_id (Telegram re-sends on a non-2xx).
 */
import { Hono } from "hono";
import { grammy } from "../lib/notify/telegram.ts";
import type { AppEnv } from "./app_env.ts";
import type { Hub } from "../lib/hub.ts";
import { NotFoundError } from "../lib/errors.ts";

export function telegramWebhookRoutes(hub: Hub) {
  const app = new Hono<AppEnv>();
  app.post("/telegram/:botId", async (c) => {
    const n = hub.notify;
    const bot = await n.store.botById(c.req.param("botId").slice(0, 100));
    if (!bot) throw new NotFoundError("bot");
    const { webhookCallback } = await grammy();
    const handle = webhookCallback(await n.bots.grammyBot(bot), "hono", {
      secretToken: await n.store.openSecret(bot),
      onTimeout: "return",
      timeoutMilliseconds: 20_000,
    });
    return await handle(c);
  });
  return app;
}
