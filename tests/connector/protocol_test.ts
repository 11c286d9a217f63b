import assert from "node:assert/strict";
import {
  agentFrameSchema,
  checkAnswer,
  CLOSE,
  hubFrameSchema,
  parseFrame,
  proveChallenge,
  verifyProof,
} from "../../lib/connector/protocol.ts";
import { randomToken } from "../../lib/ids.ts";
import { slaEvents } from "../../lib/sla/events.ts";

const KEY = "k3y-of-the-connector-0123456789";
const nonce = randomToken(32);

function authFrame(overrides: Record<string, unknown> = {}) {
  return JSON.stringify({
    t: "auth",
    v: 1,
    connectorId: "con_1",
    token: "sct_token",
    nonce,
    mac: proveChallenge(KEY, nonce),
    agent: { version: "1.0.0" },
    ...overrides,
  });
}

Deno.test("verifyProof() accepts the HMAC of the challenge under the right key", () => {
  const parsed = parseFrame(agentFrameSchema, authFrame());
  assert.ok(parsed.ok);
  assert.equal(parsed.frame.t, "auth");
  if (parsed.frame.t !== "auth") return;
  assert.ok(verifyProof(KEY, nonce, parsed.frame.mac));
  assert.equal(checkAnswer({ nonce, expiresAt: 2000 }, parsed.frame, 1000), null);
});

Deno.test("verifyProof() refuses a proof made with another key or for another challenge", () => {
  assert.equal(verifyProof(KEY, nonce, proveChallenge("another key", nonce)), false);
  assert.equal(verifyProof(KEY, nonce, proveChallenge(KEY, randomToken(32))), false);
});

Deno.test("checkAnswer() refuses a replayed answer (another connection's challenge) and an expired one", () => {
  const other = randomToken(32);
  assert.equal(checkAnswer({ nonce: other, expiresAt: 2000 }, { nonce }, 1000), CLOSE.replayed);
  assert.equal(checkAnswer({ nonce, expiresAt: 2000 }, { nonce }, 2001), CLOSE.challengeExpired);
});

Deno.test("parseFrame() closes with 1009 on an oversized frame", () => {
  const res = parseFrame(agentFrameSchema, "x".repeat(2048), { maxBytes: 1024 });
  assert.deepEqual(res, { ok: false, code: 1009, reason: "frame too large: over 1024 bytes" });
  // Multi-byte text is measured in bytes, not characters.
  const cyrillic = JSON.stringify({ t: "ping", at: 1, pad: "я".repeat(600) });
  assert.equal(parseFrame(agentFrameSchema, cyrillic, { maxBytes: 1024 }).ok, false);
});

Deno.test("parseFrame() names what is wrong with a malformed frame", () => {
  assert.deepEqual(parseFrame(agentFrameSchema, "{not json"), {
    ok: false,
    code: 4400,
    reason: "malformed frame: not JSON",
  });
  assert.deepEqual(parseFrame(agentFrameSchema, new Uint8Array(3)), {
    ok: false,
    code: 4400,
    reason: "malformed frame: not text",
  });
  const badMac = parseFrame(agentFrameSchema, authFrame({ mac: "zz" }));
  assert.equal(badMac.ok, false);
  if (!badMac.ok) assert.equal(badMac.reason, "malformed frame: mac: must be 64 hex characters");
  const wrongVersion = parseFrame(agentFrameSchema, authFrame({ v: 2 }));
  assert.equal(wrongVersion.ok, false);
});

Deno.test("hub frames: a job carries id, action, params and deadline", () => {
  const job = parseFrame(
    hubFrameSchema,
    JSON.stringify({ t: "job", id: "j1", action: "tickets.query", params: { filter: "arrears" }, deadline: 5 }),
  );
  assert.ok(job.ok);
  assert.equal(parseFrame(hubFrameSchema, JSON.stringify({ t: "job", id: "j1", action: "rm -rf" })).ok, false);
});

Deno.test("slaEvents validate their data", () => {
  assert.ok(
    slaEvents["sla.breached"].schema.safeParse({
      ticketId: "T-1",
      title: "Нет связи",
      department: "Сеть",
      slaDeadline: "2026-12-02T10:00:00.000Z",
      overdueMs: 60_000,
    }).success,
  );
  assert.equal(slaEvents["connector.offline"].schema.safeParse({ connectorId: null, name: null }).success, false);
});
