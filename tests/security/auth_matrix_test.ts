/**
 * The auth matrix generated from /openapi.json (issue 10): every documented
 * operation that declares a security requirement, called with no token, a
 * wrong one, a revoked one and the token of a removed member, answers 401 — so
 * a new route that forgets its guard fails here without anyone listing it.
 * Guards itself against passing vacuously: it must exercise every secured
 * operation the spec lists, and the spec must list at least as many as today.
 *
 * The other-organization dimension: organization B's owner token, sent to
 * every operation that names an object in its path with the id of
 * organization A's real object, must get 404 (and A's owner gets 200 on the
 * same reads, so the ids are real); B's reads of lists never show A's data;
 * and afterwards A's objects are unchanged.
 */
import assert from "node:assert/strict";
import { startTelegramFake } from "../fakes/telegram.ts";
import { eventually, startTestHub } from "../helpers/hub.ts";
import { startDadataFake } from "../fakes/dadata.ts";
import { recordingServer } from "../helpers/redirect_world.ts";
import { addMember, createOrg, removeMember } from "../../lib/accounts/store.ts";
import { authenticateToken, createToken, OPERATOR_BINDING, revokeToken } from "../../lib/accounts/tokens.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";

/** Secured operations documented when this test was written; the spec may only grow. */
const KNOWN_SECURED_OPERATIONS = 46;
/** Of those, the operations naming one object in their path (members, tokens, dead letters, schedules, runs, rows). */
const KNOWN_OBJECT_OPERATIONS = 14;

interface Operation {
  method: string;
  path: string;
}

function securedOperations(spec: { paths: Record<string, Record<string, { security?: unknown[] }>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      if (Array.isArray(op.security) && op.security.length > 0) out.push({ method: method.toUpperCase(), path });
    }
  }
  return out;
}

Deno.test("auth matrix from /openapi.json: no, wrong, revoked and removed member's tokens get 401 on every secured operation", async () => {
  const t = await startTestHub();
  try {
    const kv = t.hub.kv;
    const spec = await (await fetch(`${t.url}/openapi.json`)).json();
    const ops = securedOperations(spec);
    assert.ok(
      ops.length >= KNOWN_SECURED_OPERATIONS,
      `the spec lists ${ops.length} secured operations, fewer than the ${KNOWN_SECURED_OPERATIONS} known`,
    );

    const revoked = await t.tokenFor("owner");
    const ref = await authenticateToken(kv, revoked);
    await revokeToken(kv, t.org, ref!.id, { actor: SYSTEM_ACTOR });
    const gone = await addMember(kv, t.org, { email: "gone@x.ru", password: "long-password-1", role: "admin" }, {
      actor: SYSTEM_ACTOR,
    });
    const { value: removed } = await createToken(kv, t.org, { name: "gone's", role: "admin" }, {
      actor: SYSTEM_ACTOR,
      boundTo: { kind: "member", userId: gone.userId },
    });
    await removeMember(kv, t.org, gone.userId, { actor: SYSTEM_ACTOR, actorRole: "owner" });

    const cases: Array<[string, string | null]> = [
      ["no token", null],
      ["wrong token", "shz_wrong_wrong_wrong_wrong_wrong_wrong"],
      ["revoked token", revoked],
      ["removed member's token", removed],
    ];
    let exercised = 0;
    const failures: string[] = [];
    for (const op of ops) {
      const path = op.path.replace(/\{[^}]+\}/g, "01HZZZZZZZZZZZZZZZZZZZZZZZ");
      for (const [label, token] of cases) {
        const res = await t.api(path, {
          method: op.method,
          token,
          ...(op.method === "GET" || op.method === "DELETE" ? {} : { json: {} }),
        });
        await res.body?.cancel();
        if (res.status !== 401) failures.push(`${op.method} ${op.path} with ${label}: ${res.status}`);
      }
      exercised++;
    }
    // A viewer reads; every write answers 403 before it looks at the body.
    const viewer = await t.tokenFor("viewer");
    let writes = 0;
    for (const op of ops.filter((o) => o.method !== "GET")) {
      const path = op.path.replace(/\{[^}]+\}/g, "01HZZZZZZZZZZZZZZZZZZZZZZZ");
      const res = await t.api(path, {
        method: op.method,
        token: viewer,
        ...(op.method === "DELETE" ? {} : { json: {} }),
      });
      await res.body?.cancel();
      if (res.status !== 403) failures.push(`${op.method} ${op.path} as viewer: ${res.status}`);
      writes++;
    }
    assert.ok(writes > 0, "the spec has writes");
    assert.equal(exercised, ops.length, "every secured operation was called");
    assert.deepEqual(failures, []);
  } finally {
    await t.close();
  }
});

/** Reads that need a query to answer at all (not lists): a valid one each. */
const REQUIRED_QUERY: Record<string, string> = { "/api/v1/cron/preview": "?cron=0+9+*+*+1-5" };

/** Path parameters that are not objects of an organization: any organization may use the same value. */
const NOT_OBJECTS = new Set(["section", "service"]);

Deno.test("auth matrix from /openapi.json: another organization's token gets 404 on every object of this one and sees none of its data", async () => {
  const dadata = await startDadataFake();
  const target = recordingServer(() => new Response("ok"));
  const tg = startTelegramFake();
  const t = await startTestHub({
    env: {
      DADATA_BASE_URL: dadata.url,
      DADATA_API_KEY: "test-dadata-key",
      DADATA_SECRET_KEY: "test-dadata-secret",
      TELEGRAM_API_ROOT: tg.apiRoot,
    },
  });
  try {
    const kv = t.hub.kv;
    const spec = await (await fetch(`${t.url}/openapi.json`)).json();
    const ops = securedOperations(spec);
    const a = t.ownerToken;
    const json = async (path: string, init: RequestInit & { json?: unknown; token?: string } = {}) => {
      const res = await t.api(path, { token: a, ...init });
      const text = await res.text();
      assert.ok(res.ok, `${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };

    // Organization A's objects, one of each kind, with markers that must never show up in B's answers.
    await json("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    const member = await json("/api/v1/members", {
      method: "POST",
      json: { email: "alpha-member@alpha.ru", password: "long-password-1", role: "operator" },
    });
    const token = await json("/api/v1/tokens", {
      method: "POST",
      json: { name: "alpha-marker-token", role: "viewer" },
    });
    const schedule = await json("/api/v1/schedules", {
      method: "POST",
      json: {
        name: "alpha-marker-schedule",
        cron: "0 3 * * *",
        action: { type: "http", url: `http://127.0.0.1:${target.port}/alpha-marker-path` },
      },
    });
    const { id: runId } = await json(`/api/v1/schedules/${schedule.id}/run`, { method: "POST" });
    await eventually(async () => (await json(`/api/v1/runs/${runId}`)).outcome === "ok");
    const row = await json("/api/v1/tasks", {
      method: "POST",
      json: { task_id: 424242, task_type: "email", data: "alpha-marker@alpha.ru" },
    });
    await json("/api/v1/events", { method: "POST", json: { type: "custom.alpha", data: { m: "alpha-marker-event" } } });
    // A message of a kind nobody handles is dead-lettered with its reason: A's dead letter.
    await kv.enqueue({ v: 1, kind: "alpha.marker.kind", org: t.org, id: "alpha-marker-message", payload: {} });
    const dead = await eventually(async () => (await json("/api/v1/dead-letters")).items[0]);
    const { connector } = await json("/api/v1/connectors", {
      method: "POST",
      json: { name: "alpha-marker-connector" },
    });
    const tokens = await json("/api/v1/tokens");
    const tokenId = tokens.items.find((x: { name: string }) => x.name === "alpha-marker-token").id;
    // Notifications: a bot, a group it joined, a contact that wrote /start, a rule, a mailbox, a delivery.
    const botToken = tg.createBot("alpha_marker_bot");
    const bot = await json("/api/v1/bots", { method: "POST", json: { token: botToken } });
    const tgGroup = tg.createGroup("alpha-marker-group");
    await tg.addBotToGroup(botToken, tgGroup.id);
    const user = tg.createUser("alpha-marker-user");
    await tg.userWrites(botToken, user.id, "/start");
    const group = await eventually(async () => (await json("/api/v1/groups")).items[0]);
    const contact = await eventually(async () => (await json("/api/v1/contacts")).items[0]);
    const ruleBody = { name: "alpha-marker-rule", eventType: "custom.alpha", targets: [{ chatId: group.id }] };
    const rule = await json("/api/v1/rules", { method: "POST", json: ruleBody });
    const mailboxBody = {
      name: "alpha-marker-mailbox",
      protocol: "imap",
      host: "127.0.0.1",
      port: 1,
      security: "none",
      user: "u",
      password: "p",
      enabled: false,
    };
    const mailbox = await json("/api/v1/mailboxes", { method: "POST", json: mailboxBody });
    const sent = await json("/api/v1/notifications", { method: "POST", json: { chatIds: [group.id], text: "alpha" } });
    const delivery = sent.items[0];
    assert.ok(token && tokenId && member.userId && dead.id && row.id);

    const ids: Record<string, string> = {
      "/api/v1/members/{userId}": member.userId,
      "/api/v1/tokens/{id}": tokenId,
      "/api/v1/dead-letters/{id}": dead.id,
      "/api/v1/schedules/{id}": schedule.id,
      "/api/v1/runs/{runId}": runId,
      "/api/v1/rows/{id}": String(row.id),
      "/api/v1/bots/{id}": bot.id,
      "/api/v1/groups/{id}": group.id,
      "/api/v1/contacts/{id}": contact.id,
      "/api/v1/rules/{id}": rule.id,
      "/api/v1/mailboxes/{id}": mailbox.id,
      "/api/v1/deliveries/{id}": delivery.id,
      "/api/v1/connectors/{id}": connector.id,
    };
    /** A valid body for each write, so a refusal cannot come from validation before the object is looked up. */
    const bodies: Record<string, unknown> = {
      "PATCH /api/v1/members/{userId}": { role: "viewer" },
      "PUT /api/v1/schedules/{id}": {
        name: "taken by B",
        cron: "* * * * *",
        action: { type: "http", url: "https://example.com/b" },
      },
      "PATCH /api/v1/schedules/{id}": { enabled: false },
      "PATCH /api/v1/groups/{id}": { title: "taken by B" },
      "PATCH /api/v1/contacts/{id}": { status: "active" },
      "PUT /api/v1/rules/{id}": { ...ruleBody, enabled: false, targets: [] },
      "PUT /api/v1/mailboxes/{id}": mailboxBody,
      "PATCH /api/v1/connectors/{id}": { name: "taken by B" },
    };
    const markers = [
      t.org,
      member.userId,
      tokenId,
      schedule.id,
      runId,
      dead.id,
      connector.id,
      "alpha-member@alpha.ru",
      "alpha-marker",
      bot.id,
      group.id,
      rule.id,
      mailbox.id,
    ];

    // Organization B, with its owner's token.
    const orgB = await createOrg(kv, "Beta", { actor: SYSTEM_ACTOR });
    const { value: b } = await createToken(kv, orgB.id, { name: "beta owner", role: "owner" }, {
      actor: SYSTEM_ACTOR,
      boundTo: OPERATOR_BINDING,
    });
    assert.equal((await json("/api/v1/me", { token: b })).org.id, orgB.id, "B's token acts for B");

    const failures: string[] = [];
    let objectOps = 0;
    for (const op of ops) {
      const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).filter((p) => !NOT_OBJECTS.has(p));
      if (params.length === 0) continue;
      const prefix = Object.keys(ids).find((p) => op.path.startsWith(p));
      assert.ok(prefix, `${op.method} ${op.path}: no object of organization A to try it on — add one to this test`);
      const path = op.path.replace(/\{[^}]+\}/, ids[prefix]);
      const body = bodies[`${op.method} ${op.path}`];
      const res = await t.api(path, {
        method: op.method,
        token: b,
        ...(op.method === "GET" || op.method === "DELETE" ? {} : { json: body ?? {} }),
      });
      const text = await res.text();
      if (res.status !== 404) failures.push(`${op.method} ${path} with B's token: ${res.status} ${text.slice(0, 200)}`);
      if (markers.some((m) => text.includes(m))) failures.push(`${op.method} ${path} showed A's data to B`);
      if (op.method === "GET") {
        const own = await t.api(path, { token: a });
        await own.body?.cancel();
        if (own.status !== 200) failures.push(`${op.method} ${path} with A's own token: ${own.status} (not a real id)`);
      }
      objectOps++;
    }
    assert.ok(
      objectOps >= KNOWN_OBJECT_OPERATIONS,
      `tried ${objectOps} object operations, fewer than the ${KNOWN_OBJECT_OPERATIONS} known`,
    );

    // B's reads of lists and of its own settings show nothing of A.
    let reads = 0;
    for (const op of ops.filter((o) => o.method === "GET" && !o.path.includes("{"))) {
      if (op.path === "/api/v1/events") continue; // the SSE stream: read below
      const res = await t.api(op.path + (REQUIRED_QUERY[op.path] ?? ""), { token: b });
      const text = await res.text();
      // 409: B has not configured that area (no Bitrix24 webhook) — an answer, not a failure of the hub.
      if (res.status !== 200 && res.status !== 409) failures.push(`GET ${op.path} with B's token: ${res.status}`);
      for (const m of markers) if (text.includes(m)) failures.push(`GET ${op.path} showed A's ${m} to B`);
      reads++;
    }
    assert.ok(reads >= 15, `B read ${reads} lists`);
    // The stream replays B's events from the very start; it ends at B's own marker, with nothing of A before it.
    await json("/api/v1/events", { method: "POST", token: b, json: { type: "custom.beta", data: { m: "beta-end" } } });
    const stream = await t.api(`/api/v1/events?after=${"0".repeat(26)}`, { token: b });
    assert.equal(stream.status, 200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("beta-end")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    await reader.cancel();
    assert.match(seen, /beta-end/);
    for (const m of markers) if (seen.includes(m)) failures.push(`the event stream showed A's ${m} to B`);

    // A's objects are as they were.
    assert.equal((await json(`/api/v1/schedules/${schedule.id}`)).name, "alpha-marker-schedule");
    assert.equal((await json(`/api/v1/schedules/${schedule.id}`)).enabled, true);
    const members = (await json("/api/v1/members")).items;
    assert.equal(members.find((m: { userId: string }) => m.userId === member.userId)?.role, "operator");
    const after = (await json("/api/v1/tokens")).items.find((x: { id: string }) => x.id === tokenId);
    assert.ok(!after.revokedAt, "A's token is not revoked");
    assert.ok(await json(`/api/v1/dead-letters/${dead.id}`), "A's dead letter is still there");
    assert.deepEqual(failures, []);
  } finally {
    await t.close();
    await target.close();
    await dadata.close();
    await tg.close();
  }
});
