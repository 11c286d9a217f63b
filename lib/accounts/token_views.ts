/** API tokens as people see them: who created each one and what it may do now. */
import { getUser, listMembers } from "./store.ts";
import type { Role } from "./roles.ts";
import { lowerRole, type PublicToken } from "./tokens.ts";

export interface TokenView extends Omit<PublicToken, "boundTo"> {
  /** The lower of `role` and the creator's current role; null when the token cannot authenticate. */
  effectiveRole: Role | null;
  /** A member (with their e-mail while the user exists) or the operator. */
  creator: { kind: "member"; userId: string; email?: string } | { kind: "operator" };
}

/** Adds creator and effective role to token records, reading the organization's members once. */
export async function describeTokens(kv: Deno.Kv, org: string, tokens: PublicToken[]): Promise<TokenView[]> {
  const members = new Map((await listMembers(kv, org)).map((m) => [m.userId, m]));
  const formerEmails = new Map<string, string | undefined>();
  const out: TokenView[] = [];
  for (const { boundTo, ...t } of tokens) {
    if (boundTo.kind === "operator") {
      out.push({ ...t, effectiveRole: t.revokedAt ? null : t.role, creator: { kind: "operator" } });
      continue;
    }
    const member = members.get(boundTo.userId);
    if (!member && !formerEmails.has(boundTo.userId)) {
      formerEmails.set(boundTo.userId, (await getUser(kv, boundTo.userId))?.email);
    }
    out.push({
      ...t,
      effectiveRole: member && !t.revokedAt ? lowerRole(t.role, member.role) : null,
      creator: { kind: "member", userId: boundTo.userId, email: member?.email ?? formerEmails.get(boundTo.userId) },
    });
  }
  return out;
}
