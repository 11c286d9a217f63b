/**
 * Organizations, users and memberships in KV.
 *
 * Keys: `["org", org]`, `["user", userId]`, `["user_by_email", email]`,
 * `["member", org, userId]` with the index `["membership", userId, org]`,
 * written together in one atomic operation.
 */
import { z } from "zod";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors.ts";
import { newId } from "../ids.ts";
import { type Actor, auditInto } from "./audit.ts";
import { hashPassword } from "../crypto/password.ts";
import type { Role } from "./roles.ts";
import { revokeTokensOfMemberInto } from "./tokens.ts";

export interface Org {
  id: string;
  name: string;
  createdAt: string;
}

export interface User {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  createdAt: string;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  addedAt: string;
}

export const emailSchema = z.string().trim().toLowerCase().email().max(200);
export const passwordSchema = z.string().min(10, "must be at least 10 characters").max(200);

export async function listOrgs(kv: Deno.Kv): Promise<Org[]> {
  const out: Org[] = [];
  for await (const e of kv.list<Org>({ prefix: ["org"] })) out.push(e.value);
  return out;
}

export async function getOrg(kv: Deno.Kv, id: string): Promise<Org | null> {
  return (await kv.get<Org>(["org", id])).value;
}

export async function getUser(kv: Deno.Kv, id: string): Promise<User | null> {
  return (await kv.get<User>(["user", id])).value;
}

export async function findUserByEmail(kv: Deno.Kv, email: string): Promise<User | null> {
  const id = (await kv.get<string>(["user_by_email", email.trim().toLowerCase()])).value;
  return id ? getUser(kv, id) : null;
}

/** Creates an organization; `owner`, when given, becomes its owner in the same commit. */
export async function createOrg(
  kv: Deno.Kv,
  name: string,
  { owner, actor, now = Date.now() }: { owner?: User; actor: Actor; now?: number },
): Promise<Org> {
  const org: Org = { id: newId(now), name, createdAt: new Date(now).toISOString() };
  const op = kv.atomic().check({ key: ["org", org.id], versionstamp: null }).set(["org", org.id], org);
  if (owner) addMemberInto(op, org.id, owner.id, "owner", now);
  auditInto(op, org.id, actor, "org.created", { target: org.name, now });
  const res = await op.commit();
  if (!res.ok) throw new Error("Cannot create organization: KV commit rejected");
  return org;
}

/** Creates a user, or fails with 409 when the e-mail is taken. */
export async function createUser(
  kv: Deno.Kv,
  input: { email: string; name?: string; password: string },
  { now = Date.now() }: { now?: number } = {},
): Promise<User> {
  const email = emailSchema.parse(input.email);
  const user: User = {
    id: newId(now),
    email,
    name: input.name?.trim() || email.split("@")[0],
    passwordHash: await hashPassword(input.password),
    createdAt: new Date(now).toISOString(),
  };
  const res = await kv.atomic()
    .check({ key: ["user_by_email", email], versionstamp: null })
    .set(["user", user.id], user)
    .set(["user_by_email", email], user.id)
    .commit();
  if (!res.ok) throw new ConflictError(`Cannot create user: ${email} already exists`, { details: { field: "email" } });
  return user;
}

function addMemberInto(op: Deno.AtomicOperation, org: string, userId: string, role: Role, now: number) {
  op.set(["member", org, userId], { role, addedAt: new Date(now).toISOString() });
  op.set(["membership", userId, org], role);
}

/** The user's role in the organization, or null when not a member. */
export async function roleOf(kv: Deno.Kv, org: string, userId: string): Promise<Role | null> {
  return (await kv.get<Role>(["membership", userId, org])).value;
}

/** Organizations the user belongs to, with the role in each. */
export async function membershipsOf(kv: Deno.Kv, userId: string): Promise<Array<{ org: Org; role: Role }>> {
  const out: Array<{ org: Org; role: Role }> = [];
  for await (const e of kv.list<Role>({ prefix: ["membership", userId] })) {
    const org = await getOrg(kv, String(e.key[2]));
    if (org) out.push({ org, role: e.value });
  }
  return out;
}

export async function listMembers(kv: Deno.Kv, org: string): Promise<Member[]> {
  const out: Member[] = [];
  for await (const e of kv.list<{ role: Role; addedAt: string }>({ prefix: ["member", org] })) {
    const user = await getUser(kv, String(e.key[2]));
    if (user) {
      out.push({ userId: user.id, email: user.email, name: user.name, role: e.value.role, addedAt: e.value.addedAt });
    }
  }
  return out;
}

/**
 * Adds a member (creating the user when the e-mail is new; a password is then
 * required) or fails with 409 when already a member.
 */
export async function addMember(
  kv: Deno.Kv,
  org: string,
  input: { email: string; name?: string; password?: string; role: Role },
  { actor, now = Date.now() }: { actor: Actor; now?: number },
): Promise<Member> {
  let user = await findUserByEmail(kv, input.email);
  if (!user) {
    if (!input.password) {
      throw new ValidationError([{ field: "password", message: "required for a new user" }], {
        message: "Cannot add member: a new user needs a password",
      });
    }
    user = await createUser(kv, { email: input.email, name: input.name, password: input.password }, { now });
  }
  const op = kv.atomic().check({ key: ["member", org, user.id], versionstamp: null });
  addMemberInto(op, org, user.id, input.role, now);
  auditInto(op, org, actor, "member.added", { target: user.email, details: { role: input.role }, now });
  const res = await op.commit();
  if (!res.ok) throw new ConflictError(`Cannot add member: ${user.email} is already a member`);
  return {
    userId: user.id,
    email: user.email,
    name: user.name,
    role: input.role,
    addedAt: new Date(now).toISOString(),
  };
}

async function countOwners(kv: Deno.Kv, org: string): Promise<number> {
  let n = 0;
  for await (const e of kv.list<{ role: Role }>({ prefix: ["member", org] })) if (e.value.role === "owner") n++;
  return n;
}

/**
 * Every change that takes an owner away bumps `["owners", org]` and checks the
 * version it read before counting, so two owners demoting or removing each
 * other at the same moment cannot both pass the last-owner check.
 */
async function guardOwners(kv: Deno.Kv, org: string, op: Deno.AtomicOperation, message: string): Promise<void> {
  const version = await kv.get(["owners", org]);
  if (await countOwners(kv, org) <= 1) throw new ConflictError(message, { code: "last_owner" });
  op.check(version).set(["owners", org], crypto.randomUUID());
}

/** Changes a member's role. Only owners may grant or take away "owner"; the last owner stays. */
export async function changeRole(
  kv: Deno.Kv,
  org: string,
  userId: string,
  role: Role,
  { actor, actorRole, now = Date.now() }: { actor: Actor; actorRole: Role; now?: number },
): Promise<void> {
  const entry = await kv.get<{ role: Role; addedAt: string }>(["member", org, userId]);
  if (!entry.value) throw new NotFoundError("member");
  const from = entry.value.role;
  if ((from === "owner" || role === "owner") && actorRole !== "owner") {
    throw new ForbiddenError("Cannot change an owner role: only owners can grant or remove it");
  }
  const op = kv.atomic().check(entry).set(["member", org, userId], { ...entry.value, role }).set(
    ["membership", userId, org],
    role,
  );
  if (from === "owner" && role !== "owner") {
    await guardOwners(kv, org, op, "Cannot demote the last owner: make someone else owner first");
  }
  auditInto(op, org, actor, "member.role_changed", { target: userId, details: { from, to: role }, now });
  const res = await op.commit();
  if (!res.ok) throw new ConflictError("Cannot change role: the members changed meanwhile, try again");
}

/**
 * Removes a member (not the last owner) and, in the same commit, revokes the
 * API tokens they created here (each audited): a removed person keeps no
 * access through a token. `authenticateToken` also refuses a token whose
 * creator is no longer a member, so a token created while the removal was
 * in flight does not survive it either.
 */
export async function removeMember(
  kv: Deno.Kv,
  org: string,
  userId: string,
  { actor, actorRole, now = Date.now() }: { actor: Actor; actorRole: Role; now?: number },
): Promise<void> {
  const entry = await kv.get<{ role: Role }>(["member", org, userId]);
  if (!entry.value) throw new NotFoundError("member");
  const op = kv.atomic().check(entry).delete(["member", org, userId]).delete(["membership", userId, org]);
  if (entry.value.role === "owner") {
    if (actorRole !== "owner") throw new ForbiddenError("Cannot remove an owner: only owners can");
    await guardOwners(kv, org, op, "Cannot remove the last owner");
  }
  const revoked = await revokeTokensOfMemberInto(kv, op, { org, userId, actor, now });
  auditInto(op, org, actor, "member.removed", { target: userId, details: { tokensRevoked: revoked }, now });
  const res = await op.commit();
  if (!res.ok) throw new ConflictError("Cannot remove member: the members changed meanwhile, try again");
}
