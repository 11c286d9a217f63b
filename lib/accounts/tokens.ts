/**
 * API tokens: `shz_<random>` shown once, stored only as a SHA-256 hash.
 * `["token", org, id]` holds the record; `["token_hash", hash]` finds it;
 * `["token_revoked", hash]` remembers every revoked value, so the same value
 * (SHLYUZ_ADMIN_TOKEN on the next start, say) can never come back.
 *
 * A token is bound to the membership of the person who created it: its
 * effective role is the lower of its own role and the creator's current role
 * (decided at every request, so demoting a member caps their tokens at once
 * and promoting them back restores them), and removing the member revokes
 * their tokens in the same commit. The stored role is never rewritten: the
 * token keeps saying what it was created for.
 */
import { ConflictError, NotFoundError } from "../errors.ts";
import { newId, randomToken, sha256Hex } from "../ids.ts";
import { type Actor, auditInto } from "./audit.ts";
import { hasRole, type Role } from "./roles.ts";

/**
 * Whose authority a token carries. `member`: a person's membership (tokens
 * created from a session, or by a token bound to that person). `operator`:
 * the operator's environment — SHLYUZ_ADMIN_TOKEN and tokens made with it —
 * which no member can remove; it lives until revoked, and a revoked value
 * stays revoked. Tokens stored before bindings existed count as `operator`.
 */
export type TokenBinding = { kind: "member"; userId: string } | { kind: "operator" };

export const OPERATOR_BINDING: TokenBinding = { kind: "operator" };

/** The lower of two roles. */
export function lowerRole(a: Role, b: Role): Role {
  return hasRole(a, b) ? b : a;
}

export interface ApiToken {
  id: string;
  org: string;
  name: string;
  role: Role;
  hash: string;
  /** First characters, so people can tell tokens apart. */
  prefix: string;
  createdAt: string;
  createdBy: string;
  /** Absent on tokens stored before bindings existed (then: the operator). */
  boundTo?: TokenBinding;
  lastUsedAt?: string;
  revokedAt?: string;
}

export type PublicToken = Omit<ApiToken, "hash" | "boundTo"> & { boundTo: TokenBinding };

export function publicToken({ hash: _hash, boundTo = OPERATOR_BINDING, ...rest }: ApiToken): PublicToken {
  return { ...rest, boundTo };
}

/** Creates a token; the plain value is returned once and never stored. */
export async function createToken(
  kv: Deno.Kv,
  org: string,
  input: { name: string; role: Role; value?: string },
  { actor, boundTo, now = Date.now() }: { actor: Actor; boundTo: TokenBinding; now?: number },
): Promise<{ token: PublicToken; value: string }> {
  const value = input.value ?? `shz_${randomToken(30)}`;
  const hash = await sha256Hex(value);
  const token: ApiToken = {
    id: newId(now),
    org,
    name: input.name,
    role: input.role,
    hash,
    prefix: value.slice(0, 8),
    createdAt: new Date(now).toISOString(),
    createdBy: actor.label,
    boundTo,
  };
  const ref: TokenRef = { org, id: token.id, role: token.role, name: token.name, boundTo };
  const op = kv.atomic()
    .check({ key: ["token_hash", hash], versionstamp: null })
    .check({ key: ["token_revoked", hash], versionstamp: null })
    .set(["token", org, token.id], token)
    .set(["token_hash", hash], ref);
  auditInto(op, org, actor, "token.created", {
    target: token.name,
    details: { role: token.role, id: token.id, boundTo: bindingLabel(boundTo) },
    now,
  });
  const res = await op.commit();
  if (!res.ok) throw new ConflictError("Cannot create token: a token with this value exists or was revoked");
  return { token: publicToken(token), value };
}

function bindingLabel(b: TokenBinding): string {
  return b.kind === "member" ? `user:${b.userId}` : "operator";
}

/** What `ensureToken` found or did, so start-up can say it. */
export type EnsureTokenOutcome = "exists" | "created" | "revoked";

/**
 * Ensures a token with exactly this value exists (SHLYUZ_ADMIN_TOKEN at
 * start-up), bound to the operator. A value that was ever revoked is not
 * created again: the outcome is `revoked` and the operator rotates by setting
 * a new value.
 */
export async function ensureToken(
  kv: Deno.Kv,
  org: string,
  value: string,
  { role, actor }: { role: Role; actor: Actor },
): Promise<EnsureTokenOutcome> {
  const hash = await sha256Hex(value);
  const [found, revoked] = await kv.getMany<[TokenRef, { at: string }]>([["token_hash", hash], [
    "token_revoked",
    hash,
  ]]);
  if (revoked.versionstamp) return "revoked";
  if (found.value) return "exists";
  try {
    await createToken(kv, org, { name: "SHLYUZ_ADMIN_TOKEN", role, value }, { actor, boundTo: OPERATOR_BINDING });
  } catch (error) {
    // Another process starting at the same moment created or revoked it first.
    if ((await kv.get(["token_revoked", hash])).versionstamp) return "revoked";
    if ((await kv.get(["token_hash", hash])).versionstamp) return "exists";
    throw error;
  }
  return "created";
}

/** What `["token_hash", hash]` holds: enough to authorize with one read (plus the creator's membership). */
export interface TokenRef {
  org: string;
  id: string;
  role: Role;
  name: string;
  /** Absent on tokens stored before bindings existed (then: the operator). */
  boundTo?: TokenBinding;
}

/** A live token as a request sees it: `role` is the effective role, `grantedRole` what it was created with. */
export interface AuthenticatedToken extends TokenRef {
  grantedRole: Role;
  boundTo: TokenBinding;
}

/** When this process last wrote each token's last-used time (it writes at most once a minute). */
const lastUsedWrites = new Map<string, number>();

/**
 * Finds a live token by its plain value with one KV read (revocation deletes
 * the hash entry in the same commit, so it takes effect at once), plus one
 * read of the creator's membership for a member-bound token: a token whose
 * creator is no longer a member is refused even if its revocation has not
 * committed, and its role is capped at the creator's current role.
 * Refreshes the token's last-used time at most once a minute per process.
 */
export async function authenticateToken(
  kv: Deno.Kv,
  value: string,
  now = Date.now(),
): Promise<AuthenticatedToken | null> {
  if (value.length < 24 || value.length > 200) return null;
  const hash = await sha256Hex(value);
  const found = (await kv.get<TokenRef>(["token_hash", hash])).value;
  if (!found) return null;
  const boundTo = found.boundTo ?? OPERATOR_BINDING;
  let role = found.role;
  if (boundTo.kind === "member") {
    const creatorRole = (await kv.get<Role>(["membership", boundTo.userId, found.org])).value;
    if (!creatorRole) return null;
    role = lowerRole(found.role, creatorRole);
  }
  const ref: AuthenticatedToken = { ...found, boundTo, role, grantedRole: found.role };
  if (now - (lastUsedWrites.get(ref.id) ?? 0) > 60_000) {
    lastUsedWrites.set(ref.id, now);
    const entry = await kv.get<ApiToken>(["token", ref.org, ref.id]);
    if (entry.value && !entry.value.revokedAt) {
      // Best effort: a lost race only loses a timestamp.
      await kv.atomic().check(entry).set(entry.key, { ...entry.value, lastUsedAt: new Date(now).toISOString() })
        .commit();
    }
  }
  return ref;
}

/** The organization's token records, newest first. */
export async function listTokens(kv: Deno.Kv, org: string): Promise<PublicToken[]> {
  const out: PublicToken[] = [];
  for await (const e of kv.list<ApiToken>({ prefix: ["token", org] })) out.push(publicToken(e.value));
  return out.reverse();
}

/** One token record, or null. */
export async function getToken(kv: Deno.Kv, org: string, id: string): Promise<PublicToken | null> {
  const token = (await kv.get<ApiToken>(["token", org, id])).value;
  return token ? publicToken(token) : null;
}

/**
 * Adds to `op` the revocation of every live token the member created in the
 * organization, each with its audit entry, so a member's removal and the end
 * of their tokens commit together. Returns how many it revokes.
 */
export async function revokeTokensOfMemberInto(
  kv: Deno.Kv,
  op: Deno.AtomicOperation,
  { org, userId, actor, now = Date.now() }: { org: string; userId: string; actor: Actor; now?: number },
): Promise<number> {
  let n = 0;
  for await (const e of kv.list<ApiToken>({ prefix: ["token", org] })) {
    const t = e.value;
    if (t.revokedAt || t.boundTo?.kind !== "member" || t.boundTo.userId !== userId) continue;
    const revokedAt = new Date(now).toISOString();
    op.set(e.key, { ...t, revokedAt }).delete(["token_hash", t.hash]).set(["token_revoked", t.hash], { at: revokedAt });
    auditInto(op, org, actor, "token.revoked", {
      target: t.name,
      details: { id: t.id, reason: "its creator was removed from the organization" },
      now,
    });
    n++;
  }
  return n;
}

/**
 * Revokes a token at once: the hash index is deleted unconditionally (so the
 * token stops working even if the record changed meanwhile, e.g. its last-used
 * time), and the record is marked in a checked commit that is retried.
 */
export async function revokeToken(
  kv: Deno.Kv,
  org: string,
  id: string,
  { actor, now = Date.now() }: { actor: Actor; now?: number },
): Promise<PublicToken> {
  for (let tries = 0; tries < 10; tries++) {
    const entry = await kv.get<ApiToken>(["token", org, id]);
    if (!entry.value) throw new NotFoundError("token");
    const token = { ...entry.value, revokedAt: entry.value.revokedAt ?? new Date(now).toISOString() };
    const op = kv.atomic().check(entry).set(entry.key, token).delete(["token_hash", token.hash])
      .set(["token_revoked", token.hash], { at: token.revokedAt });
    auditInto(op, org, actor, "token.revoked", { target: token.name, details: { id }, now });
    if ((await op.commit()).ok) return publicToken(token);
    // Never leave a revoked token usable between tries.
    await kv.atomic().delete(["token_hash", token.hash]).set(["token_revoked", token.hash], { at: token.revokedAt })
      .commit();
  }
  throw new ConflictError("Cannot revoke the token: it kept changing, try again");
}
