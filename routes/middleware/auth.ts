/**
 * Authentication and authorization. Programs send `Authorization: Bearer
 * <token>`; people carry a session cookie, and every cookie-authenticated
 * write must echo the session's CSRF token in `X-CSRF-Token` (or a `_csrf`
 * form field), so another site cannot make a logged-in browser write.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { ForbiddenError } from "../../lib/errors.ts";
import { HttpError, httpErrors } from "../errors.ts";
import { authenticateToken } from "../../lib/accounts/tokens.ts";
import { getSession, type Session } from "../../lib/accounts/sessions.ts";
import { getOrg, getUser, membershipsOf, roleOf } from "../../lib/accounts/store.ts";
import { hasRole, type Role } from "../../lib/accounts/roles.ts";
import type { AppEnv, AuthInfo } from "../app_env.ts";
import { timingSafeEqual } from "../../lib/crypto/password.ts";
import { readForm } from "../form.ts";
import { pageFrame } from "../../lib/ui/preferences.ts";

export const SESSION_COOKIE = "shlyuz_session";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** The session behind the request's cookie, if any. */
export async function sessionOf(c: Context<AppEnv>): Promise<Session | null> {
  const sid = getCookie(c, SESSION_COOKIE);
  // Wall time, not the hub clock: the session's KV entry expires by wall time too.
  return sid ? await getSession(c.var.hub.kv, sid, Date.now()) : null;
}

function sameText(a: string, b: string): boolean {
  const enc = new TextEncoder();
  return timingSafeEqual(enc.encode(a), enc.encode(b));
}

/** Checks the CSRF token of a cookie-authenticated write. */
async function checkCsrf(c: Context<AppEnv>, session: Session): Promise<void> {
  if (SAFE.has(c.req.method)) return;
  let sent = c.req.header("x-csrf-token");
  if (!sent) {
    const type = c.req.header("content-type") ?? "";
    if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")) {
      const form = await readForm(c);
      sent = typeof form._csrf === "string" ? form._csrf : undefined;
    }
  }
  if (!sent || !sameText(sent, session.csrf)) {
    throw new HttpError(
      403,
      "csrf_failed",
      "Cannot accept this write: the CSRF token is missing or wrong; reload the page",
    );
  }
}

/** Resolves who is calling, or throws 401. */
export async function authenticate(c: Context<AppEnv>): Promise<AuthInfo> {
  const { kv } = c.var.hub;
  const header = c.req.header("authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!m) throw httpErrors.unauthorized("Cannot authenticate: the Authorization header must be `Bearer <token>`");
    const token = await authenticateToken(kv, m[1], c.var.hub.clock.now());
    if (!token) throw httpErrors.unauthorized("Cannot authenticate: the API token is unknown or revoked");
    return {
      org: token.org,
      role: token.role,
      tokenId: token.id,
      via: "token",
      actor: { id: `token:${token.id}`, label: `token ${token.name}` },
    };
  }
  const session = await sessionOf(c);
  if (!session) throw httpErrors.unauthorized();
  const role = await roleOf(kv, session.org, session.userId);
  if (!role) throw httpErrors.unauthorized("Cannot authenticate: you are no longer a member of this organization");
  await checkCsrf(c, session);
  const user = await getUser(kv, session.userId);
  return {
    org: session.org,
    role,
    userId: session.userId,
    via: "session",
    actor: { id: `user:${session.userId}`, label: user?.email ?? session.userId },
  };
}

/** Requires a caller with at least `min` role; sets `c.var.auth`. */
export function requireRole(min: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const auth = await authenticate(c);
    if (!hasRole(auth.role, min)) {
      throw new ForbiddenError(`Cannot do this: it needs the ${min} role, you have ${auth.role}`);
    }
    c.set("auth", auth);
    await next();
  };
}

/** `read` for GET/HEAD, `write` for every other method: one middleware per path prefix. */
export function requireRoles(read: Role, write: Role): MiddlewareHandler<AppEnv> {
  const r = requireRole(read);
  const w = requireRole(write);
  return (c, next) => (SAFE.has(c.req.method) ? r(c, next) : w(c, next));
}

/**
 * For admin pages: requires a session (else redirects to the login page) and
 * at least `min` role; sets `c.var.page` and `c.var.auth`.
 */
export function requirePage(min: Role = "viewer"): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { kv } = c.var.hub;
    const session = await sessionOf(c);
    const user = session ? await getUser(kv, session.userId) : null;
    const role = session && user ? await roleOf(kv, session.org, user.id) : null;
    const org = session ? await getOrg(kv, session.org) : null;
    if (!session || !user || !role || !org) {
      // The query too: a filtered journal or events page opened from a link comes back as it was asked for.
      const { pathname, search } = new URL(c.req.url);
      return c.redirect(`/admin/login?next=${encodeURIComponent(pathname + search)}`, 302);
    }
    if (!hasRole(role, min)) throw new ForbiddenError(`This page needs the ${min} role; you have ${role}`);
    await checkCsrf(c, session);
    c.set("page", {
      user: { id: user.id, email: user.email, name: user.name },
      org,
      orgs: await membershipsOf(kv, user.id),
      role,
      csrf: session.csrf,
      ...await pageFrame(c.var.hub, { userId: user.id, org: org.id, acceptLanguage: c.req.header("accept-language") }),
    });
    c.set("auth", {
      org: org.id,
      role,
      userId: user.id,
      via: "session",
      actor: { id: `user:${user.id}`, label: user.email },
    });
    await next();
  };
}
