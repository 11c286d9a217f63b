/** Login, logout, first-start setup and the organization switcher. */
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { getConnInfo } from "hono/deno";
import type { Context } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Document } from "./layout.tsx";
import { render } from "./render.ts";
import { SESSION_COOKIE, sessionOf } from "../middleware/auth.ts";
import {
  clearLoginFailures,
  createSession,
  deleteSession,
  reserveLoginAttempt,
  switchSessionOrg,
} from "../../lib/accounts/sessions.ts";
import {
  createOrg,
  createUser,
  emailSchema,
  findUserByEmail,
  membershipsOf,
  passwordSchema,
  roleOf,
} from "../../lib/accounts/store.ts";
import { DUMMY_HASH, verifyPassword } from "../../lib/crypto/password.ts";
import { consumeSetupCode, setupCodeValid } from "../../lib/accounts/bootstrap.ts";
import { SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { httpErrors } from "../../lib/errors.ts";
import { readForm } from "../form.ts";
import { pathId } from "../openapi.ts";

function LoginPage({ error, next, email }: { error?: string; next: string; email?: string }) {
  return (
    <Document title="Вход">
      <main class="container" style="max-width:28rem">
        <h1>Шлюз</h1>
        <p>Sign in to the admin panel.</p>
        {error && <p role="alert" class="error" data-testid="login-error">{error}</p>}
        <form method="post" action="/admin/login">
          <input type="hidden" name="next" value={next} />
          <label>
            E-mail
            <input type="email" name="email" autocomplete="username" required value={email} />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
          <button type="submit">Sign in</button>
        </form>
      </main>
    </Document>
  );
}

function SetupPage({ code, error }: { code: string; error?: string }) {
  return (
    <Document title="First start">
      <main class="container" style="max-width:32rem">
        <h1>Welcome to Shlyuz</h1>
        <p>Create the first organization and its owner. This link works once.</p>
        {error && <p role="alert" class="error">{error}</p>}
        <form method="post" action={`/admin/setup/${code}`}>
          <label>
            Organization
            <input name="org" required placeholder="ООО «Ромашка»" />
          </label>
          <label>
            Your e-mail
            <input type="email" name="email" required />
          </label>
          <label>
            Password (10+ characters)
            <input type="password" name="password" required minLength={10} />
          </label>
          <button type="submit">Create</button>
        </form>
      </main>
    </Document>
  );
}

/** Only same-site relative paths, so the login form cannot redirect elsewhere. */
function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : "/admin";
}

/**
 * Login and setup have no session yet, so no CSRF token: refuse a form posted
 * from another site (browsers send Origin on cross-site POSTs), so nobody can
 * log a visitor into an account of the attacker's choosing.
 */
function sameOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return;
  const host = c.req.header("x-forwarded-host") ?? c.req.header("host");
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw httpErrors.forbidden("Cannot accept this form: its Origin header is not a URL");
  }
  if (originHost !== host) throw httpErrors.forbidden("Cannot accept this form: it was posted from another site");
}

function clientAddress(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

async function startSession(c: Context<AppEnv>, hub: Hub, userId: string, org: string) {
  const ttlMs = hub.config.SHLYUZ_SESSION_TTL_HOURS * 3600_000;
  const session = await createSession(hub.kv, userId, org, { ttlMs, now: Date.now() });
  const secure = new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https" ||
    (hub.config.PUBLIC_URL?.startsWith("https:") ?? false);
  setCookie(c, SESSION_COOKIE, session.id, {
    httpOnly: true,
    sameSite: "Lax",
    secure,
    path: "/",
    maxAge: Math.floor(ttlMs / 1000),
  });
}

export function authPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/login", (c) => render(c, <LoginPage next={safeNext(c.req.query("next"))} />));

  app.post("/login", async (c) => {
    sameOrigin(c);
    const form = await readForm(c);
    const next = safeNext(form.next);
    const email = emailSchema.safeParse(form.email);
    const password = typeof form.password === "string" ? form.password : "";
    const keys = [`ip:${clientAddress(c)}`, `email:${email.success ? email.data : "?"}`];
    if (!(await reserveLoginAttempt(hub.kv, keys))) {
      return render(c, <LoginPage next={next} error="Too many failed attempts. Wait 15 minutes and try again." />, 429);
    }
    const user = email.success ? await findUserByEmail(hub.kv, email.data) : null;
    // Verify against a dummy hash when the user is unknown, so timing does not reveal which e-mails exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH) && user !== null;
    const orgs = user ? await membershipsOf(hub.kv, user.id) : [];
    if (!ok || !user || orgs.length === 0) {
      hub.log.child("auth").warn("login failed", { email: email.success ? email.data : undefined });
      return render(
        c,
        <LoginPage
          next={next}
          email={typeof form.email === "string" ? form.email : ""}
          error="Wrong e-mail or password."
        />,
        401,
      );
    }
    await clearLoginFailures(hub.kv, keys);
    await startSession(c, hub, user.id, orgs[0].org.id);
    return c.redirect(next, 303);
  });

  app.post("/logout", async (c) => {
    const session = await sessionOf(c);
    if (session) {
      const form = await readForm(c);
      if (form._csrf !== session.csrf) {
        throw httpErrors.forbidden("Cannot log out: the CSRF token is wrong; reload the page");
      }
      await deleteSession(hub.kv, session.id);
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/admin/login", 303);
  });

  app.post("/switch-org", async (c) => {
    const session = await sessionOf(c);
    if (!session) return c.redirect("/admin/login", 303);
    const form = await readForm(c);
    if (form._csrf !== session.csrf) {
      throw httpErrors.forbidden("Cannot switch: the CSRF token is wrong; reload the page");
    }
    const org = String(form.org ?? "");
    if (!pathId.safeParse(org).success || !(await roleOf(hub.kv, org, session.userId))) {
      throw httpErrors.notFound("organization");
    }
    await switchSessionOrg(hub.kv, session, org, Date.now());
    return c.redirect("/admin", 303);
  });

  app.get("/setup/:code", async (c) => {
    const code = c.req.param("code");
    if (!(await setupCodeValid(hub.kv, code))) {
      return c.text("This setup link is not valid (it may have been used).", 404);
    }
    return render(c, <SetupPage code={code} />);
  });

  app.post("/setup/:code", async (c) => {
    sameOrigin(c);
    const code = c.req.param("code");
    const form = await readForm(c);
    const email = emailSchema.safeParse(form.email);
    const password = passwordSchema.safeParse(form.password);
    const orgName = typeof form.org === "string" ? form.org.trim() : "";
    if (!email.success || !password.success || !orgName) {
      const error = !orgName
        ? "org: required"
        : !email.success
        ? "email: must be an e-mail address"
        : "password: must be at least 10 characters";
      return render(c, <SetupPage code={code} error={error} />, 422);
    }
    if (!(await consumeSetupCode(hub.kv, code))) {
      return c.text("This setup link is not valid (it may have been used).", 404);
    }
    const owner = await createUser(hub.kv, { email: email.data, password: password.data });
    const org = await createOrg(hub.kv, orgName, { owner, actor: SYSTEM_ACTOR });
    await startSession(c, hub, owner.id, org.id);
    return c.redirect("/admin", 303);
  });
  return app;
}
