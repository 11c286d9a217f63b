/**
 * Server-side sessions for the admin panel: `["session", sid]` with a TTL.
 * The cookie holds only the random id; the CSRF token lives in the session
 * and is echoed by pages in a meta tag.
 */
import { randomToken } from "../ids.ts";

export interface Session {
  id: string;
  userId: string;
  /** The organization the user is working in (the switcher changes it). */
  org: string;
  csrf: string;
  createdAt: string;
}

export async function createSession(
  kv: Deno.Kv,
  userId: string,
  org: string,
  { ttlMs, now = Date.now() }: { ttlMs: number; now?: number },
): Promise<Session> {
  const session: Session = {
    id: randomToken(32),
    userId,
    org,
    csrf: randomToken(24),
    createdAt: new Date(now).toISOString(),
  };
  await kv.set(["session", session.id], session, { expireIn: ttlMs });
  return session;
}

export async function getSession(kv: Deno.Kv, id: string): Promise<Session | null> {
  if (!/^[\w-]{20,100}$/.test(id)) return null;
  return (await kv.get<Session>(["session", id])).value;
}

export async function switchSessionOrg(kv: Deno.Kv, session: Session, org: string, ttlMs: number): Promise<void> {
  await kv.set(["session", session.id], { ...session, org }, { expireIn: ttlMs });
}

export async function deleteSession(kv: Deno.Kv, id: string): Promise<void> {
  await kv.delete(["session", id]);
}

/**
 * Login throttling per e-mail and per client address: after `max` failures in
 * the window, further attempts are refused until the window passes.
 */
export async function loginAllowed(kv: Deno.Kv, keys: string[], max = 5): Promise<boolean> {
  const entries = await kv.getMany<number[]>(keys.map((k) => ["login_fail", k]));
  return entries.every((e) => (e.value ?? 0) < max);
}

export async function recordLoginFailure(kv: Deno.Kv, keys: string[], windowMs = 15 * 60_000): Promise<void> {
  for (const k of keys) {
    const e = await kv.get<number>(["login_fail", k]);
    await kv.set(["login_fail", k], (e.value ?? 0) + 1, { expireIn: windowMs });
  }
}

export async function clearLoginFailures(kv: Deno.Kv, keys: string[]): Promise<void> {
  for (const k of keys) await kv.delete(["login_fail", k]);
}
