/**
 * The connector protocol, shared by the hub and the agent: versioned zod
 * schemas of every frame, the close codes (with the reason the agent prints),
 * and the challenge-response proof. The agent answers the hub's random
 * challenge with HMAC-SHA256(challenge) under its key, so the key never
 * crosses the wire; the token alone proves nothing.
 *
 * @example
 * const frame = parseFrame(text, { maxBytes: MAX_FRAME_BYTES });
 * if (!frame.ok) socket.close(frame.code, frame.reason);
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

export const PROTOCOL_VERSION = 1;
/** Largest text frame either side accepts, in bytes (a page of tickets fits many times over). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** How long a challenge may be answered, ms. */
export const CHALLENGE_TTL_MS = 10_000;

/** Close codes (4000–4999 is the range WebSocket leaves to applications). */
export const CLOSE = {
  badCredentials: { code: 4001, reason: "hub refused the connector: wrong id, token or key" },
  challengeExpired: { code: 4002, reason: "hub refused the connector: the challenge expired, reconnecting" },
  replayed: { code: 4003, reason: "hub refused the connector: the answer does not match this connection's challenge" },
  revoked: { code: 4004, reason: "hub refused the connector: it was revoked, create a new one" },
  versionMismatch: { code: 4005, reason: "hub refused the connector: unsupported protocol version, update the agent" },
  rateExceeded: { code: 4008, reason: "hub closed the connection: too many frames per second" },
  throttled: { code: 4029, reason: "hub refused the connector: too many failed handshakes, retrying later" },
  busy: { code: 1013, reason: "hub is busy with handshakes, reconnecting" },
  addressSockets: {
    code: 4030,
    reason: "hub refused the connection: too many sockets from this address, retrying later",
  },
  addressHandshakes: {
    code: 4031,
    reason: "hub refused the connection: too many handshakes at once from this address, retrying later",
  },
  replaced: { code: 4009, reason: "hub closed the connection: the same connector connected again elsewhere" },
  heartbeatLost: { code: 4010, reason: "hub closed the connection: no heartbeat" },
  goingAway: { code: 1001, reason: "hub is shutting down, reconnecting" },
  tooLarge: { code: 1009, reason: "frame too large" },
  malformed: { code: 4400, reason: "malformed frame" },
} as const;

const id = z.string().min(1).max(100);
const nonce = z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, "must be base64url, 32 to 128 characters");

/** Frames the hub sends. */
export const hubFrameSchema = z.discriminatedUnion("t", [
  z.object({ t: z.literal("challenge"), v: z.literal(PROTOCOL_VERSION), nonce, expiresAt: z.number().int() }),
  z.object({ t: z.literal("welcome"), connectorId: id, heartbeatMs: z.number().int().positive() }),
  z.object({ t: z.literal("ping"), at: z.number().int() }),
  z.object({ t: z.literal("pong"), at: z.number().int() }),
  z.object({
    t: z.literal("job"),
    id,
    action: z.enum(["tickets.query", "ping"]),
    params: z.record(z.string(), z.unknown()),
    /** Epoch ms after which the hub ignores the result and asks another connector. */
    deadline: z.number().int(),
  }),
]);
export type HubFrame = z.infer<typeof hubFrameSchema>;

/** Frames the agent sends. */
export const agentFrameSchema = z.discriminatedUnion("t", [
  z.object({
    t: z.literal("auth"),
    v: z.literal(PROTOCOL_VERSION),
    connectorId: id,
    token: z.string().min(1).max(200),
    nonce,
    /** Hex HMAC-SHA256 of `nonce` under the connector's key. */
    mac: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 hex characters"),
    agent: z.object({
      version: z.string().max(50),
      /** The agent's INTERVAL, seconds: reported and shown; the organization's interval decides the polls. */
      intervalSec: z.number().int().min(10).max(86_400).optional(),
    }),
  }),
  z.object({ t: z.literal("ping"), at: z.number().int() }),
  z.object({ t: z.literal("pong"), at: z.number().int() }),
  z.object({
    t: z.literal("result"),
    id,
    ok: z.boolean(),
    data: z.unknown().optional(),
    error: z.object({ code: z.string().max(100), message: z.string().max(2000) }).optional(),
  }),
]);
export type AgentFrame = z.infer<typeof agentFrameSchema>;

export type ParsedFrame<T> = { ok: true; frame: T } | { ok: false; code: number; reason: string };

/** Parses one text frame against `schema`, refusing oversized, non-JSON and invalid frames with a close code. */
export function parseFrame<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  { maxBytes = MAX_FRAME_BYTES }: { maxBytes?: number } = {},
): ParsedFrame<z.infer<S>> {
  if (typeof raw !== "string") return { ok: false, code: CLOSE.malformed.code, reason: "malformed frame: not text" };
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × length: the cheap check first, the exact one only when it matters.
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && new TextEncoder().encode(raw).length > maxBytes)) {
    return { ok: false, code: CLOSE.tooLarge.code, reason: `frame too large: over ${maxBytes} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, code: CLOSE.malformed.code, reason: "malformed frame: not JSON" };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "frame";
    // WebSocket close reasons are limited to 123 bytes.
    return {
      ok: false,
      code: CLOSE.malformed.code,
      reason: `malformed frame: ${field}: ${issue?.message}`.slice(0, 120),
    };
  }
  return { ok: true, frame: parsed.data };
}

/** The proof an agent sends for `nonce`: hex HMAC-SHA256 under its key. */
export function proveChallenge(key: string, challenge: string): string {
  return createHmac("sha256", key).update(challenge).digest("hex");
}

/** Checks a proof in constant time. */
export function verifyProof(key: string, challenge: string, mac: string): boolean {
  const expected = Buffer.from(proveChallenge(key, challenge), "hex");
  const given = Buffer.from(mac, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Why an answer to a challenge is refused, or null when it is accepted (before the credentials are checked). */
export function checkAnswer(
  issued: { nonce: string; expiresAt: number },
  answer: { nonce: string },
  now: number,
): (typeof CLOSE)[keyof typeof CLOSE] | null {
  if (answer.nonce !== issued.nonce) return CLOSE.replayed;
  if (now > issued.expiresAt) return CLOSE.challengeExpired;
  return null;
}
