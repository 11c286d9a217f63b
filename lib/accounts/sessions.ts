/**
 * Server-side sessions for the admin panel: `["session", sid]` with a TTL.
 * The cookie holds only the random id; the CSRF token lives in the session
 * and is echoed by pages in a meta tag.
 */
import { randomToken } from "../ids.ts";

export interface Session {
  id: string;
  /** Epoch ms; checked on read because KV may show an expired key for a while. */
  expiresAt: number;
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
    expiresAt: now + ttlMs,
    userId,
    org,
    csrf: randomToken(24),
    createdAt: new Date(now).toISOString(),
  };
  await kv.set(["session", session.id], session, { expireIn: ttlMs });
  return session;
}

export async function getSession(kv: Deno.Kv, id: string, now = Date.now()): Promise<Session | null> {
  if (!/^[\w-]{20,100}$/.test(id)) return null;
  const session = (await kv.get<Session>(["session", id])).value;
  return session && session.expiresAt > now ? session : null;
}

export async function switchSessionOrg(kv: Deno.Kv, session: Session, org: string, now = Date.now()): Promise<void> {
  // The session keeps its original lifetime: switching does not extend it.
  await kv.set(["session", session.id], { ...session, org }, { expireIn: Math.max(1, session.expiresAt - now) });
}

export async function deleteSession(kv: Deno.Kv, id: string): Promise<void> {
  await kv.delete(["session", id]);
}

/**
 * Login throttling per e-mail and per client address. Each attempt is
 * reserved before the (slow) password check, with a check-and-set on the
 * counter, so parallel guesses cannot slip past the limit; a successful login
 * clears the counters. Returns false when any counter already reached `max`.
 */
export async function reserveLoginAttempt(
  kv: Deno.Kv,
  keys: string[],
  { max = 5, windowMs = 15 * 60_000 }: { max?: number; windowMs?: number } = {},
): Promise<boolean> {
  for (let tries = 0; tries < 20; tries++) {
    const entries = await kv.getMany<number[]>(keys.map((k) => ["login_fail", k]));
    if (entries.some((e) => (e.value ?? 0) >= max)) return false;
    const op = kv.atomic();
    for (const e of entries) op.check(e).set(e.key, (e.value ?? 0) + 1, { expireIn: windowMs });
    if ((await op.commit()).ok) return true;
  }
  return false; // heavy contention on one account: treat as throttled
}

export async function clearLoginFailures(kv: Deno.Kv, keys: string[]): Promise<void> {
  const op = kv.atomic();
  for (const k of keys) op.delete(["login_fail", k]);
  await op.commit();
}
