/** Login, logout, first-start setup, the organization switcher and the language picker. */
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { getConnInfo } from "hono/deno";
import type { Context } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Hub } from "../../lib/hub.ts";
import { Document } from "./layout.tsx";
import { render } from "./render.ts";
import { SESSION_COOKIE, sessionOf } from "../middleware/auth.ts";
import { createSession, deleteSession, switchSessionOrg } from "../../lib/accounts/sessions.ts";
import {
  clearLoginFailures,
  clientAddress,
  loginThrottleRules,
  reserveLoginAttempt,
  type ThrottleRule,
} from "../../lib/accounts/login_throttle.ts";
import {
  createOrg,
  createUser,
  emailSchema,
  findUserByEmail,
  listOrgs,
  membershipsOf,
  passwordSchema,
  roleOf,
} from "../../lib/accounts/store.ts";
import { DUMMY_HASH, verifyPassword } from "../../lib/crypto/password.ts";
import { consumeSetupCode, setupCodeValid } from "../../lib/accounts/bootstrap.ts";
import { audit, SYSTEM_ACTOR } from "../../lib/accounts/audit.ts";
import { ForbiddenError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import { isLocale, type Locale, type MessageKey, translator } from "../../lib/i18n/mod.ts";
import { setUiLocale } from "../../lib/ui/preferences.ts";
import { readForm } from "../form.ts";
import { pathId } from "../openapi.ts";
import { rememberLocale, requestLocale } from "./locale.ts";

function LoginPage(
  { locale, error, next, email, setupPending }: {
    locale: Locale;
    error?: MessageKey;
    next: string;
    email?: string;
    setupPending?: boolean;
  },
) {
  const { t } = translator(locale);
  return (
    <Document title={t("login.title")} locale={locale}>
      <main class="container narrow">
        <h1>{t("common.brand")}</h1>
        <p>{t("login.lead")}</p>
        {setupPending && (
          <p role="note" data-testid="setup-pending">
            <mark>{t("login.setupPending")}</mark>
          </p>
        )}
        {error && <p role="alert" class="error" data-testid="login-error">{t(error)}</p>}
        <form method="post" action="/admin/login">
          <input type="hidden" name="next" value={next} />
          <label>
            {t("login.email")}
            <input type="email" name="email" autocomplete="username" required value={email} />
          </label>
          <label>
            {t("login.password")}
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
          <button type="submit">{t("login.submit")}</button>
        </form>
      </main>
    </Document>
  );
}

function SetupPage({ locale, code, error }: { locale: Locale; code: string; error?: MessageKey }) {
  const { t } = translator(locale);
  return (
    <Document title={t("setup.title")} locale={locale}>
      <main class="container narrow">
        <h1>{t("setup.heading")}</h1>
        <p>{t("setup.lead")}</p>
        {error && <p role="alert" class="error">{t(error)}</p>}
        <form method="post" action={`/admin/setup/${code}`}>
          <label>
            {t("setup.org")}
            <input name="org" required placeholder="ООО «Ромашка»" />
          </label>
          <label>
            {t("setup.email")}
            <input type="email" name="email" required />
          </label>
          <label>
            {t("setup.password")}
            <input type="password" name="password" required minLength={10} />
          </label>
          <button type="submit">{t("common.create")}</button>
        </form>
      </main>
    </Document>
  );
}

/**
 * Only a path on this hub (with its query), so the login form cannot redirect
 * elsewhere: `//host`, `/\\host` and anything that resolves to another origin
 * fall back to the overview. The path comes back as the URL parser
 * normalizes it (percent-encoded), so no raw character reaches the header.
 */
export function safeNext(next: unknown): string {
  const HOME = "/admin";
  if (typeof next !== "string" || !next.startsWith("/") || /^\/[\\/]/.test(next)) return HOME;
  const base = "http://shlyuz.invalid";
  try {
    const url = new URL(next, base);
    return url.origin === base ? url.pathname + url.search : HOME;
  } catch {
    return HOME;
  }
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
    throw new ForbiddenError("Cannot accept this form: its Origin header is not a URL");
  }
  if (originHost !== host) throw new ForbiddenError("Cannot accept this form: it was posted from another site");
}

function peerAddress(c: Context<AppEnv>): string {
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

/**
 * A lock-out goes to the audit log of every organization the account belongs
 * to, so its admins see who was locked out, from where and by which counter.
 */
async function auditLockout(hub: Hub, email: string, address: string, rules: ThrottleRule[]) {
  hub.log.child("auth").warn("login locked out", { email, address, counters: rules.map((r) => r.key) });
  const user = await findUserByEmail(hub.kv, email);
  if (!user) return;
  const scope = rules.some((r) => r.key.startsWith("address:"))
    ? "address"
    : rules.some((r) => r.key.startsWith("account:"))
    ? "account"
    : "account_from_address";
  for (const { org } of await membershipsOf(hub.kv, user.id)) {
    await audit(hub.kv, org.id, SYSTEM_ACTOR, "login.locked", {
      target: email,
      details: { address, scope, minutes: 15 },
    });
  }
}

export function authPages(hub: Hub): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const trusted = hub.config.SHLYUZ_TRUSTED_PROXIES;

  app.get("/login", async (c) =>
    render(
      c,
      <LoginPage
        locale={requestLocale(c)}
        next={safeNext(c.req.query("next"))}
        setupPending={(await listOrgs(hub.kv)).length === 0}
      />,
    ));

  app.post("/login", async (c) => {
    sameOrigin(c);
    const locale = requestLocale(c);
    const form = await readForm(c);
    const next = safeNext(form.next);
    const email = emailSchema.safeParse(form.email);
    const password = typeof form.password === "string" ? form.password : "";
    const address = clientAddress(peerAddress(c), c.req.header("x-forwarded-for"), trusted);
    const rules = loginThrottleRules(email.success ? email.data : "?", address);
    const reservation = await reserveLoginAttempt(hub.kv, rules);
    if (!reservation.ok) {
      return render(c, <LoginPage locale={locale} next={next} error="login.throttled" />, 429);
    }
    const user = email.success ? await findUserByEmail(hub.kv, email.data) : null;
    // Verify against a dummy hash when the user is unknown, so timing does not reveal which e-mails exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH) && user !== null;
    const orgs = user ? await membershipsOf(hub.kv, user.id) : [];
    if (!ok || !user || orgs.length === 0) {
      hub.log.child("auth").warn("login failed", { email: email.success ? email.data : undefined, address });
      if (reservation.filling.length && email.success) {
        await auditLockout(hub, email.data, address, reservation.filling);
      }
      return render(
        c,
        <LoginPage
          locale={locale}
          next={next}
          email={typeof form.email === "string" ? form.email : ""}
          error="login.wrong"
        />,
        401,
      );
    }
    await clearLoginFailures(hub.kv, rules);
    await startSession(c, hub, user.id, orgs[0].org.id);
    return c.redirect(next, 303);
  });

  app.post("/logout", async (c) => {
    const session = await sessionOf(c);
    if (session) {
      const form = await readForm(c);
      if (form._csrf !== session.csrf) {
        throw new ForbiddenError("Cannot log out: the CSRF token is wrong; reload the page");
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
      throw new ForbiddenError("Cannot switch: the CSRF token is wrong; reload the page");
    }
    const org = String(form.org ?? "");
    if (!pathId.safeParse(org).success || !(await roleOf(hub.kv, org, session.userId))) {
      throw new NotFoundError("organization");
    }
    await switchSessionOrg(hub.kv, session, org, Date.now());
    return c.redirect("/admin", 303);
  });

  // The language picker in the footer: a plain form, so it works without scripts and under a strict CSP.
  app.post("/preferences/locale", async (c) => {
    const form = await readForm(c);
    const locale = form.locale;
    if (!isLocale(locale)) {
      throw new ValidationError([{ field: "locale", message: "must be ru or en" }]);
    }
    const session = await sessionOf(c);
    if (session) {
      if (form._csrf !== session.csrf) {
        throw new ForbiddenError("Cannot change the language: the CSRF token is wrong; reload the page");
      }
      await setUiLocale(hub.kv, session.userId, locale);
    }
    rememberLocale(c, locale);
    // Back to the page the picker was on (same origin only; anything else goes to the overview).
    let back = "/admin";
    try {
      const referer = new URL(c.req.header("referer") ?? "");
      if (referer.host === new URL(c.req.url).host) back = referer.pathname + referer.search;
    } catch { /* no or malformed Referer */ }
    return c.redirect(safeNext(back), 303);
  });

  app.get("/setup/:code", async (c) => {
    const code = c.req.param("code");
    const locale = requestLocale(c);
    if (!(await setupCodeValid(hub.kv, code))) return c.text(translator(locale).t("setup.invalid"), 404);
    return render(c, <SetupPage locale={locale} code={code} />);
  });

  app.post("/setup/:code", async (c) => {
    sameOrigin(c);
    const code = c.req.param("code");
    const locale = requestLocale(c);
    const form = await readForm(c);
    const email = emailSchema.safeParse(form.email);
    const password = passwordSchema.safeParse(form.password);
    const orgName = typeof form.org === "string" ? form.org.trim() : "";
    if (!email.success || !password.success || !orgName) {
      const error = !orgName ? "setup.error.org" : !email.success ? "setup.error.email" : "setup.error.password";
      return render(c, <SetupPage locale={locale} code={code} error={error} />, 422);
    }
    if (!(await consumeSetupCode(hub.kv, code))) return c.text(translator(locale).t("setup.invalid"), 404);
    const owner = await createUser(hub.kv, { email: email.data, password: password.data });
    const org = await createOrg(hub.kv, orgName, { owner, actor: SYSTEM_ACTOR });
    await startSession(c, hub, owner.id, org.id);
    return c.redirect("/admin", 303);
  });
  return app;
}
