/**
 * Issue 10, the parts of its "what to build" that had no test of their own:
 * a member's removal revokes their tokens *with an audit entry*, the tokens
 * page shows each token's creator, and the operator's private-network ceiling
 * holds end to end (a tenant's own setting cannot widen it) and is explained
 * on the settings page.
 */
import assert from "node:assert/strict";
import { eventually, startTestHub, type TestHub } from "../helpers/hub.ts";
import { addMember, removeMember } from "../../lib/accounts/store.ts";
import { createToken } from "../../lib/accounts/tokens.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { recordingServer } from "../helpers/redirect_world.ts";

const OWNER = { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "correct horse battery" };

/** The owner's session cookie, from the login form. */
async function ownerCookie(t: TestHub): Promise<string> {
  const res = await fetch(`${t.url}/admin/login`, {
    method: "POST",
    headers: { origin: t.url },
    body: new URLSearchParams({ email: OWNER.SHLYUZ_ADMIN_EMAIL, password: OWNER.SHLYUZ_ADMIN_PASSWORD }),
    redirect: "manual",
  });
  await res.body?.cancel();
  assert.equal(res.status, 303);
  return res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
}

async function page(t: TestHub, path: string, cookie: string): Promise<string> {
  const res = await fetch(t.url + path, { headers: { cookie, accept: "text/html" } });
  const html = await res.text();
  assert.equal(res.status, 200, `${path}: ${html.slice(0, 300)}`);
  return html;
}

Deno.test("removing a member revokes their tokens in the audit log too, and the tokens page names each token's creator", async () => {
  const t = await startTestHub({ env: OWNER });
  try {
    const kv = t.hub.kv;
    const admin = await addMember(kv, t.org, { email: "maker@x.ru", password: "long-password-1", role: "admin" }, {
      actor: SYSTEM_ACTOR,
    });
    await createToken(kv, t.org, { name: "maker-token", role: "admin" }, {
      actor: SYSTEM_ACTOR,
      boundTo: { kind: "member", userId: admin.userId },
    });
    const cookie = await ownerCookie(t);
    assert.match(await page(t, "/admin/tokens", cookie), /maker@x\.ru/, "the creator is named on the tokens page");

    await removeMember(kv, t.org, admin.userId, { actor: SYSTEM_ACTOR, actorRole: "owner" });
    const audit = await (await t.api("/api/v1/audit")).json();
    const entry = audit.items.find((e: { action: string; target?: string }) =>
      e.action === "token.revoked" && e.target === "maker-token"
    );
    assert.ok(
      entry,
      `no token.revoked entry in ${JSON.stringify(audit.items.map((e: { action: string }) => e.action))}`,
    );
    assert.match(JSON.stringify(entry.details), /creator was removed/);
  } finally {
    await t.close();
  }
});

Deno.test("the operator's ceiling holds end to end: SHLYUZ_ALLOW_PRIVATE_NETWORKS=off beats the organization's own allowance", async () => {
  const target = recordingServer(() => new Response("inside"));
  const t = await startTestHub({ env: { ...OWNER, SHLYUZ_ALLOW_PRIVATE_NETWORKS: "off" } });
  try {
    const put = await t.api("/api/v1/settings/general", { method: "PUT", json: { allowPrivateNetworks: true } });
    await put.body?.cancel();
    const created = await t.api("/api/v1/schedules", {
      method: "POST",
      json: { name: "inside", cron: "0 3 * * *", action: { type: "http", url: `http://127.0.0.1:${target.port}/` } },
    });
    const body = await created.json();
    // Refused when saved, or (if saving only checks the form) when the run calls it — never delivered.
    if (created.status === 201) {
      const queued = await t.api(`/api/v1/schedules/${body.id}/run`, { method: "POST" });
      const { id: runId } = await queued.json();
      const run = await eventually(async () => {
        const r = await (await t.api(`/api/v1/runs/${runId}`)).json();
        return ["failed", "ok", "timeout"].includes(r.outcome) ? r : null;
      });
      assert.equal(run.outcome, "failed");
      assert.match(run.reason ?? "", /SHLYUZ_ALLOW_PRIVATE_NETWORKS/);
    } else {
      assert.equal(created.status, 422, JSON.stringify(body));
      assert.match(body.error.message, /SHLYUZ_ALLOW_PRIVATE_NETWORKS/);
    }
    assert.equal(target.seen.length, 0, "the operator's network was never called");
    // The settings page says where the organization's allowance ends.
    assert.match(await page(t, "/admin/settings", await ownerCookie(t)), /SHLYUZ_ALLOW_PRIVATE_NETWORKS/);
  } finally {
    await t.close();
    await target.close();
  }
});
