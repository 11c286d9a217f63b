/** The admin panel's error page: a person who opens a wrong link sees a page, not JSON. */
import { renderToString } from "preact-render-to-string";
import { Document } from "./layout.tsx";
import { type Locale, type MessageKey, translator } from "../../lib/i18n/mod.ts";

const TITLED: Record<number, MessageKey> = {
  400: "error.400",
  401: "error.401",
  403: "error.403",
  404: "error.404",
  413: "error.413",
  422: "error.422",
  429: "error.429",
};

/**
 * HTML for an error status in `locale`; `message` is already safe for people
 * (no internals). The API's English message stays as the detail: it is the
 * text an operator can search for and quote to support.
 */
export function errorPageHtml(status: number, message: string, requestId?: string, locale: Locale = "ru"): string {
  const { t } = translator(locale);
  const title = t(TITLED[status] ?? "error.other");
  return "<!doctype html>" + renderToString(
    <Document title={title} locale={locale}>
      <main class="container narrow">
        <h1>{title}</h1>
        <p data-testid="error-message">{message}</p>
        {requestId && (
          <p>
            <small>{t("error.requestId", { id: requestId })}</small>
          </p>
        )}
        <p>
          <a href="/admin">{t("common.back")}</a>
        </p>
      </main>
    </Document>,
  );
}
