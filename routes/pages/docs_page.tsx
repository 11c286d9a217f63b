/**
 * The `/docs` page: Swagger UI (served from static/vendor, so it works
 * offline) under a bar that leads back to the panel and says how "Try it out"
 * is authorized. A logged-in person's requests go with the session cookie, and
 * static/docs.js adds the session's CSRF token (from the meta tag) to every
 * write, as the panel's own islands do.
 */
import type { Locale } from "../../lib/i18n/mod.ts";
import { translator } from "../../lib/i18n/mod.ts";
import { Head } from "./layout.tsx";

export function DocsPage({ locale, csrf, email }: { locale: Locale; csrf?: string; email?: string }) {
  const { t } = translator(locale);
  const [before, after] = t("docs.programs", { header: "\u0000" }).split("\u0000");
  return (
    <html lang={locale}>
      <Head
        title={t("docs.title")}
        csrf={csrf}
        locale={locale}
        stylesheets={["/static/vendor/swagger-ui.css", "/static/docs.css"]}
      />
      <body>
        <header class="docs-bar" data-testid="docs-bar">
          <a href="/admin" data-testid="docs-back">{t("docs.back")}</a>
          <p data-testid="docs-auth" data-session={email ? "yes" : "no"}>
            {email ? t("docs.session", { email }) : (
              <>
                {t("docs.anonymous")} <a href="/admin/login?next=%2Fdocs">{t("docs.login")}</a>
              </>
            )}{" "}
            <small>
              {before}
              <code>Authorization: Bearer shz_…</code>
              {after}
            </small>
          </p>
        </header>
        <div id="ui"></div>
        <script src="/static/vendor/swagger-ui-bundle.js"></script>
        <script src="/static/docs.js"></script>
      </body>
    </html>
  );
}
