/**
 * The connector registry: each organization's connectors with their
 * credentials and live status, in KV so every hub process shows the same.
 *
 * - `["connector", org, id]` the record: the token as a SHA-256 hash, the key
 *   sealed with the hub's SecretBox (the hub needs the key itself to check the
 *   agent's HMAC, so it cannot be a hash);
 * - `["connector_ref", id]` → org, for the handshake (the agent sends its id);
 * - `["connector_status", org, id]` what the page shows (online/offline,
 *   version, address, since, last seen, last job, last error);
 * - `["connector_live", org, id]` a lease held by the process that has the
 *   socket, renewed on heartbeats: dispatch picks connectors from here and
 *   routes the job to that process.
 */
import { z } from "zod";
import { newId, randomToken, sha256Hex } from "../ids.ts";
import type { SecretBox } from "../crypto/secret_box.ts";
import { type Actor, auditInto } from "../accounts/audit.ts";
import { timingSafeEqual } from "../crypto/password.ts";
import { ConflictError } from "../errors.ts";

/** What people set on a connector (its poll interval is the organization's: GET/PUT /api/v1/sla/settings). */
export const connectorInputSchema = z.object({
  name: z.string().trim().min(1, "must not be empty").max(100),
});
export type ConnectorInput = z.infer<typeof connectorInputSchema>;

export interface ConnectorRecord {
  id: string;
  org: string;
  name: string;
  tokenHash: string;
  /** First characters of the token, so people can tell connectors' tokens apart. */
  tokenPrefix: string;
  /** The HMAC key, sealed (aad `${org}:connector.${id}.key`). */
  keySealed: string;
  createdAt: string;
  createdBy: string;
  rotatedAt?: string;
  revokedAt?: string;
}

export interface LastJob {
  id: string;
  action: string;
  filter?: string;
  at: string;
  outcome: "ok" | "failed" | "expired";
  error?: string;
  count?: number;
}

export interface ConnectorStatus {
  state: "online" | "offline";
  version: string | null;
  remoteAddress: string | null;
  connectedSince: string | null;
  lastSeen: string | null;
  lastJob: LastJob | null;
  lastError: string | null;
  /** The agent's INTERVAL env, seconds: shown only, the organization's interval decides the polls. */
  agentIntervalSec: number | null;
}

/** The lease of a live socket: which process holds it and until when. */
export interface LiveLease {
  node: string;
  /** The socket's id: a newer socket of the same connector takes the lease over. */
  session: string;
  expiresAt: number;
  pending: number;
}

/** What the API and pages show: no hash, no sealed key. */
export interface PublicConnector {
  id: string;
  name: string;
  tokenPrefix: string;
  createdAt: string;
  createdBy: string;
  rotatedAt: string | null;
  revokedAt: string | null;
  status: ConnectorStatus;
}

export const OFFLINE: ConnectorStatus = {
  state: "offline",
  version: null,
  remoteAddress: null,
  connectedSince: null,
  lastSeen: null,
  lastJob: null,
  lastError: null,
  agentIntervalSec: null,
};

const keyAad = (org: string, id: string) => `${org}:connector.${id}.key`;

/** Credentials shown once, at creation and at rotation. */
export interface Credentials {
  connectorId: string;
  token: string;
  key: string;
}

export class ConnectorRegistry {
  readonly #kv: Deno.Kv;
  readonly #box: SecretBox;
  readonly #now: () => number;

  constructor(kv: Deno.Kv, { secrets, now = Date.now }: { secrets: SecretBox; now?: () => number }) {
    this.#kv = kv;
    this.#box = secrets;
    this.#now = now;
  }

  async #fresh(org: string, id: string): Promise<{ record: Partial<ConnectorRecord>; creds: Credentials }> {
    const token = `sct_${randomToken(24)}`;
    const key = randomToken(32);
    return {
      creds: { connectorId: id, token, key },
      record: {
        tokenHash: await sha256Hex(token),
        tokenPrefix: token.slice(0, 8),
        keySealed: await this.#box.seal(key, keyAad(org, id)),
      },
    };
  }

  /** Creates a connector; its token and key are returned once and never again. */
  async create(
    org: string,
    input: ConnectorInput,
    actor: Actor,
  ): Promise<{ connector: PublicConnector; credentials: Credentials }> {
    const now = this.#now();
    const id = `con_${newId(now)}`;
    const { record, creds } = await this.#fresh(org, id);
    const full: ConnectorRecord = {
      id,
      org,
      name: input.name,
      createdAt: new Date(now).toISOString(),
      createdBy: actor.label,
      ...record,
    } as ConnectorRecord;
    const op = this.#kv.atomic()
      .check({ key: ["connector_ref", id], versionstamp: null })
      .set(["connector", org, id], full)
      .set(["connector_ref", id], { org });
    auditInto(op, org, actor, "connector.created", { target: id, details: { name: input.name }, now });
    const res = await op.commit();
    if (!res.ok) throw new Error("Cannot create connector: the id is taken (retry)");
    return { connector: publicConnector(full, OFFLINE), credentials: creds };
  }

  async get(org: string, id: string): Promise<ConnectorRecord | null> {
    return (await this.#kv.get<ConnectorRecord>(["connector", org, id])).value;
  }

  /** The organization a connector id belongs to (handshake), or null. */
  async orgOf(id: string): Promise<string | null> {
    return (await this.#kv.get<{ org: string }>(["connector_ref", id])).value?.org ?? null;
  }

  async list(org: string): Promise<PublicConnector[]> {
    const records: ConnectorRecord[] = [];
    for await (const e of this.#kv.list<ConnectorRecord>({ prefix: ["connector", org] })) records.push(e.value);
    const statuses = await this.statuses(org);
    return records.map((r) => publicConnector(r, statuses.get(r.id) ?? OFFLINE));
  }

  async getPublic(org: string, id: string): Promise<PublicConnector | null> {
    const r = await this.get(org, id);
    if (!r) return null;
    return publicConnector(r, await this.status(org, id));
  }

  /** Renames the connector. */
  async update(org: string, id: string, patch: Partial<ConnectorInput>, actor: Actor): Promise<PublicConnector | null> {
    const entry = await this.#kv.get<ConnectorRecord>(["connector", org, id]);
    if (!entry.value) return null;
    const next: ConnectorRecord = {
      ...entry.value,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
    };
    const op = this.#kv.atomic().check(entry).set(["connector", org, id], next);
    auditInto(op, org, actor, "connector.updated", { target: id, details: patch, now: this.#now() });
    if (!(await op.commit()).ok) throw new ConflictError("Cannot update connector: it changed meanwhile (retry)");
    return publicConnector(next, await this.status(org, id));
  }

  /** Revokes a connector for good (its live socket is closed by the caller). */
  async revoke(org: string, id: string, actor: Actor): Promise<PublicConnector | null> {
    const entry = await this.#kv.get<ConnectorRecord>(["connector", org, id]);
    if (!entry.value) return null;
    if (entry.value.revokedAt) return publicConnector(entry.value, await this.status(org, id));
    const now = this.#now();
    const next = { ...entry.value, revokedAt: new Date(now).toISOString() };
    const op = this.#kv.atomic().check(entry).set(["connector", org, id], next);
    auditInto(op, org, actor, "connector.revoked", { target: id, details: { name: next.name }, now });
    if (!(await op.commit()).ok) throw new ConflictError("Cannot revoke connector: it changed meanwhile (retry)");
    return publicConnector(next, await this.status(org, id));
  }

  /** New token and key (shown once); the old ones stop working at once. Refused for a revoked connector. */
  async rotate(
    org: string,
    id: string,
    actor: Actor,
  ): Promise<{ connector: PublicConnector; credentials: Credentials } | "revoked" | null> {
    const entry = await this.#kv.get<ConnectorRecord>(["connector", org, id]);
    if (!entry.value) return null;
    if (entry.value.revokedAt) return "revoked";
    const now = this.#now();
    const { record, creds } = await this.#fresh(org, id);
    const next = { ...entry.value, ...record, rotatedAt: new Date(now).toISOString() } as ConnectorRecord;
    const op = this.#kv.atomic().check(entry).set(["connector", org, id], next);
    auditInto(op, org, actor, "connector.rotated", { target: id, details: { name: next.name }, now });
    if (!(await op.commit()).ok) throw new ConflictError("Cannot rotate connector: it changed meanwhile (retry)");
    return { connector: publicConnector(next, await this.status(org, id)), credentials: creds };
  }

  /**
   * Checks an agent's credentials: the token against the stored hash (in
   * constant time) and the proof with the opened key.
   */
  async verify(
    record: ConnectorRecord,
    { token, check }: { token: string; check: (key: string) => boolean },
  ): Promise<"ok" | "bad_token" | "bad_key" | "revoked"> {
    if (record.revokedAt) return "revoked";
    const enc = new TextEncoder();
    if (!timingSafeEqual(enc.encode(await sha256Hex(token)), enc.encode(record.tokenHash))) return "bad_token";
    const key = await this.#box.open(record.keySealed, keyAad(record.org, record.id));
    return check(key) ? "ok" : "bad_key";
  }

  async status(org: string, id: string): Promise<ConnectorStatus> {
    const [status, live] = await this.#kv.getMany<[ConnectorStatus, LiveLease]>([
      ["connector_status", org, id],
      ["connector_live", org, id],
    ]);
    return effectiveStatus(status.value, live.value, this.#now());
  }

  async statuses(org: string): Promise<Map<string, ConnectorStatus>> {
    const out = new Map<string, ConnectorStatus>();
    const live = await this.liveLeases(org);
    for await (const e of this.#kv.list<ConnectorStatus>({ prefix: ["connector_status", org] })) {
      const id = e.key[2] as string;
      out.set(id, effectiveStatus(e.value, live.get(id) ?? null, this.#now()));
    }
    return out;
  }

  /** Unexpired leases of the organization's live sockets. */
  async liveLeases(org: string): Promise<Map<string, LiveLease>> {
    const out = new Map<string, LiveLease>();
    const now = this.#now();
    for await (const e of this.#kv.list<LiveLease>({ prefix: ["connector_live", org] })) {
      if (e.value.expiresAt > now) out.set(e.key[2] as string, e.value);
    }
    return out;
  }

  /** Merges fields into the stored status. */
  async setStatus(org: string, id: string, patch: Partial<ConnectorStatus>): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const entry = await this.#kv.get<ConnectorStatus>(["connector_status", org, id]);
      const next = { ...OFFLINE, ...entry.value, ...patch };
      if ((await this.#kv.atomic().check(entry).set(["connector_status", org, id], next).commit()).ok) return;
    }
  }

  /** Takes the live lease for a newly authenticated socket (a newer socket takes it over from an older one). */
  async lease(org: string, id: string, lease: LiveLease): Promise<void> {
    await this.#kv.set(["connector_live", org, id], lease, { expireIn: Math.max(1000, lease.expiresAt - this.#now()) });
  }

  /**
   * Renews the lease only while socket `lease.session` still holds it: a replaced socket's heartbeat (in
   * another process, whose kick may not have arrived yet) must not take it back. False when it is lost.
   */
  async renew(org: string, id: string, lease: LiveLease): Promise<boolean> {
    const key = ["connector_live", org, id];
    const entry = await this.#kv.get<LiveLease>(key);
    if (entry.value?.session !== lease.session) return false;
    const expireIn = Math.max(1000, lease.expiresAt - this.#now());
    return (await this.#kv.atomic().check(entry).set(key, lease, { expireIn }).commit()).ok;
  }

  /** Drops the lease when socket `session` still holds it (a newer socket keeps its own). */
  async release(org: string, id: string, session: string): Promise<boolean> {
    const entry = await this.#kv.get<LiveLease>(["connector_live", org, id]);
    if (entry.value?.session !== session) return false;
    return (await this.#kv.atomic().check(entry).delete(["connector_live", org, id]).commit()).ok;
  }
}

/** A status says online only while a process holds an unexpired lease: a crashed process's sockets go offline. */
function effectiveStatus(status: ConnectorStatus | null, live: LiveLease | null, now: number): ConnectorStatus {
  const s = { ...OFFLINE, ...status };
  const online = live !== null && live.expiresAt > now;
  return { ...s, state: online ? "online" : "offline" };
}

export function publicConnector(r: ConnectorRecord, status: ConnectorStatus): PublicConnector {
  return {
    id: r.id,
    name: r.name,
    tokenPrefix: r.tokenPrefix,
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    rotatedAt: r.rotatedAt ?? null,
    revokedAt: r.revokedAt ?? null,
    status: r.revokedAt ? { ...status, state: "offline" } : status,
  };
}
