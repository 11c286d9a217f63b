/**
 * The auth matrix generated from /openapi.json (issue 10): every documented
 * operation that declares a security requirement, called with no token, a
 * wrong one, a revoked one and the token of a removed member, answers 401 — so
 * a new route that forgets its guard fails here without anyone listing it.
 * Guards itself against passing vacuously: it must exercise every secured
 * operation the spec lists, and the spec must list at least as many as today.
 */
import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { addMember, removeMember } from "../../lib/accounts/store.ts";
import { authenticateToken, createToken, revokeToken } from "../../lib/accounts/tokens.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";

/** Secured operations documented when this test was written; the spec may only grow. */
const KNOWN_SECURED_OPERATIONS = 46;

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
