import assert from "node:assert/strict";
import { eventually } from "../helpers/hub.ts";
import { startNotifyHarness, until } from "./_setup.ts";
import { HELP_TEXT, START_TEXT } from "../../lib/notify/bots.ts";

Deno.test("POST /bots checks the token with getMe, seals it, and refuses a revoked or duplicate one", async () => {
  const h = await startNotifyHarness();
  try {
    const { id, token } = await h.addBot("alerts_bot");
    const list = await (await h.api("/api/v1/bots")).json();
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].username, "alerts_bot");
    assert.equal(list.items[0].mode, "polling");
    assert.equal(JSON.stringify(list).includes(token), false);
    const rec = await h.hub.kv.get(["nbot", h.org, id]);
    assert.equal(JSON.stringify(rec.value).includes(token.split(":")[1]), false, "the token is sealed in KV");

    const dup = await h.api("/api/v1/bots", { method: "POST", json: { token } });
    assert.equal(dup.status, 409);
    await dup.body?.cancel();

    const revoked = h.tg.createBot("gone_bot");
    h.tg.revoke(revoked);
    const res = await h.api("/api/v1/bots", { method: "POST", json: { token: revoked } });
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.match(body.error.message, /Telegram refused the token \(401 Unauthorized\)/);
    assert.equal(body.error.message.includes(revoked), false);

    const bad = await h.api("/api/v1/bots", { method: "POST", json: { token: "nonsense" } });
    assert.equal(bad.status, 422);
    await bad.body?.cancel();

    const viewer = await h.tokenFor("viewer");
    const denied = await h.api("/api/v1/bots", { method: "POST", json: { token }, token: viewer });
    assert.equal(denied.status, 403);
    await denied.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("long polling registers a group from my_chat_member, a /start contact waits for approval, /help answers in Russian", async () => {
  const h = await startNotifyHarness();
  try {
    const { token } = await h.addBot("alerts_bot");
    const { chat } = await h.addGroup(token, "Отдел продаж");
    assert.equal(chat.kind, "group");
    assert.equal(chat.title, "Отдел продаж");

    const user = h.tg.createUser("Мария", { username: "maria" });
    await h.tg.userWrites(token, user.id, "/start");
    const contact = await until(async () => (await h.chats()).find((c) => c.tgChatId === user.id));
    assert.equal(contact.kind, "contact");
    assert.equal(contact.status, "pending");
    await eventually(() => h.tg.messagesIn(user.id).length === 1);
    assert.equal(h.tg.messagesIn(user.id)[0].text, START_TEXT);

    await h.tg.userWrites(token, user.id, "/help");
    await eventually(() => h.tg.messagesIn(user.id).length === 2);
    assert.equal(h.tg.messagesIn(user.id)[1].text, HELP_TEXT);

    const contacts = await (await h.api("/api/v1/contacts")).json();
    assert.equal(contacts.items.length, 1);
    const ok = await h.api(`/api/v1/contacts/${contact.id}`, { method: "PATCH", json: { status: "active" } });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).status, "active");

    await h.tg.kickBot(token, chat.tgChatId);
    const kicked = await until(async () => (await h.chats()).find((c) => c.id === chat.id && c.status === "kicked"));
    assert.match(kicked.statusReason!, /kicked/);
  } finally {
    await h.close();
  }
});

Deno.test("webhook mode: the hub sets the webhook with a secret, rejects a missing or wrong secret with 401, and re-asserts a changed webhook", async () => {
  const h = await startNotifyHarness({ env: { PUBLIC_URL: "https://hub.example.test" } });
  try {
    const { id, token } = await h.addBot("hook_bot");
    const fakeBot = h.tg.bots.get(token)!;
    assert.equal(fakeBot.webhook.url, `https://hub.example.test/telegram/${id}`);
    assert.ok(fakeBot.webhook.secretToken && fakeBot.webhook.secretToken.length >= 20);

    const update = {
      update_id: 1,
      message: { message_id: 1, date: 1, chat: { id: 5, type: "private", first_name: "X" }, text: "hi" },
    };
    const none = await fetch(`${h.url}/telegram/${id}`, {
      method: "POST",
      body: JSON.stringify(update),
      headers: { "content-type": "application/json" },
    });
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const wrong = await fetch(`${h.url}/telegram/${id}`, {
      method: "POST",
      body: JSON.stringify(update),
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "wrong" },
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();

    // The fake delivers updates to the webhook with the right secret: the group registers.
    const { chat } = await h.addGroup(token, "Склад");
    assert.equal(chat.title, "Склад");

    // Someone points the webhook elsewhere: the check notices and sets it back.
    fakeBot.webhook = { url: "https://elsewhere.example/hook" };
    const res = await h.api(`/api/v1/bots/${id}/check`, { method: "POST" });
    const checked = await res.json();
    assert.equal(res.status, 200);
    assert.match(checked.lastError, /pointed to https:\/\/elsewhere\.example\/hook; Shlyuz set it back/);
    assert.equal(fakeBot.webhook.url, `https://hub.example.test/telegram/${id}`);

    // Telegram reports delivery errors: the bot shows failing with Telegram's words.
    fakeBot.webhook.lastErrorMessage = "Wrong response from the webhook: 502 Bad Gateway";
    fakeBot.webhook.lastErrorDate = Math.floor(Date.now() / 1000);
    const failing = await (await h.api(`/api/v1/bots/${id}/check`, { method: "POST" })).json();
    assert.equal(failing.status, "failing");
    assert.match(failing.lastError, /502 Bad Gateway/);
    const events = await h.hub.events.recent(h.org, { types: ["bot.failed"] });
    assert.equal(events.length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("an update whose handling failed is handled when Telegram sends it again; a handled one only once", async () => {
  const h = await startNotifyHarness({ env: { PUBLIC_URL: "https://hub.example.test" } });
  try {
    const { id, token } = await h.addBot("retry_bot");
    const secret = h.tg.bots.get(token)!.webhook.secretToken!;
    const update = {
      update_id: 7001,
      message: {
        message_id: 1,
        date: 1,
        chat: { id: 4242, type: "private", first_name: "Ольга" },
        from: { id: 4242, is_bot: false, first_name: "Ольга" },
        text: "/start",
        entities: [{ type: "bot_command", offset: 0, length: 6 }],
      },
    };
    const post = async () => {
      const res = await fetch(`${h.url}/telegram/${id}`, {
        method: "POST",
        body: JSON.stringify(update),
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      });
      await res.body?.cancel();
    };
    // The first time, writing the contact fails (KV unavailable for a moment).
    const store = h.hub.notify.store;
    const upsert = store.upsertChat;
    let calls = 0;
    store.upsertChat = function (...args: Parameters<typeof upsert>) {
      calls++;
      if (calls === 1) throw new Error("KV unavailable");
      return upsert.apply(store, args);
    };
    await post();
    assert.equal(calls, 1);
    assert.equal((await h.chats()).filter((c) => c.tgChatId === 4242).length, 0);
    await post();
    const [contact] = (await h.chats()).filter((c) => c.tgChatId === 4242);
    assert.equal(contact?.kind, "contact");
    await post();
    assert.equal(calls, 2, "a handled update is not handled again");
  } finally {
    await h.close();
  }
});
