/**
 * API tokens: `shz_<random>` shown once, stored only as a SHA-256 hash.
 * `["token", org, id]` holds the record; `["token_hash", hash]` finds it.
 */
import { httpErrors } from "../errors.ts";
import { newId, randomToken, sha256Hex } from "../ids.ts";
import { type Actor, auditInto } from "./audit.ts";
import type { Role } from "./roles.ts";

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
  lastUsedAt?: string;
  revokedAt?: string;
}

export type PublicToken = Omit<ApiToken, "hash">;

export function publicToken({ hash: _hash, ...rest }: ApiToken): PublicToken {
  return rest;
}

/** Creates a token; the plain value is returned once and never stored. */
export async function createToken(
  kv: Deno.Kv,
  org: string,
  input: { name: string; role: Role; value?: string },
  { actor, now = Date.now() }: { actor: Actor; now?: number },
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
  };
  const op = kv.atomic()
    .check({ key: ["token_hash", hash], versionstamp: null })
    .set(["token", org, token.id], token)
    .set(["token_hash", hash], { org, id: token.id, role: token.role, name: token.name } satisfies TokenRef);
  auditInto(op, org, actor, "token.created", { target: token.name, details: { role: token.role, id: token.id }, now });
  const res = await op.commit();
  if (!res.ok) throw httpErrors.conflict("Cannot create token: a token with this value exists");
  return { token: publicToken(token), value };
}

/** Ensures a token with exactly this value exists (SHLYUZ_ADMIN_TOKEN at start-up). */
export async function ensureToken(kv: Deno.Kv, org: string, value: string, role: Role, actor: Actor): Promise<void> {
  const hash = await sha256Hex(value);
  const found = await kv.get<{ org: string; id: string }>(["token_hash", hash]);
  if (found.value) {
    const token = (await kv.get<ApiToken>(["token", found.value.org, found.value.id])).value;
    if (token && !token.revokedAt) return;
    await kv.delete(["token_hash", hash]);
  }
  await createToken(kv, org, { name: "SHLYUZ_ADMIN_TOKEN", role, value }, { actor });
}

/** What `["token_hash", hash]` holds: enough to authorize with one read. */
export interface TokenRef {
  org: string;
  id: string;
  role: Role;
  name: string;
}

/** When this process last wrote each token's last-used time (it writes at most once a minute). */
const lastUsedWrites = new Map<string, number>();

/**
 * Finds a live token by its plain value with one KV read (revocation deletes
 * the hash entry in the same commit, so it takes effect at once); refreshes
 * the token's last-used time at most once a minute per process.
 */
export async function authenticateToken(kv: Deno.Kv, value: string, now = Date.now()): Promise<TokenRef | null> {
  if (value.length < 24 || value.length > 200) return null;
  const hash = await sha256Hex(value);
  const ref = (await kv.get<TokenRef>(["token_hash", hash])).value;
  if (!ref) return null;
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

export async function listTokens(kv: Deno.Kv, org: string): Promise<PublicToken[]> {
  const out: PublicToken[] = [];
  for await (const e of kv.list<ApiToken>({ prefix: ["token", org] })) out.push(publicToken(e.value));
  return out.reverse();
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
    if (!entry.value) throw httpErrors.notFound("token");
    const token = { ...entry.value, revokedAt: entry.value.revokedAt ?? new Date(now).toISOString() };
    const op = kv.atomic().check(entry).set(entry.key, token).delete(["token_hash", token.hash]);
    auditInto(op, org, actor, "token.revoked", { target: token.name, details: { id }, now });
    if ((await op.commit()).ok) return publicToken(token);
    await kv.delete(["token_hash", token.hash]); // never leave a revoked token usable between tries
  }
  throw httpErrors.conflict("Cannot revoke the token: it kept changing, try again");
}
