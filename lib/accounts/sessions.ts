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
