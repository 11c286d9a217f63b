/** The admin panel's error page: a person who opens a wrong link sees a page, not JSON. */
import { renderToString } from "preact-render-to-string";
import { Document } from "./layout.tsx";

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Please log in",
  403: "Not allowed",
  404: "Not found",
  413: "Too large",
  422: "Invalid input",
  429: "Too many attempts",
};

/** HTML for an error status; `message` is already safe for people (no internals). */
export function errorPageHtml(status: number, message: string, requestId?: string): string {
  const title = TITLES[status] ?? "Something went wrong";
  return "<!doctype html>" + renderToString(
    <Document title={title}>
      <main class="container" style="max-width:40rem">
        <h1>{title}</h1>
        <p data-testid="error-message">{message}</p>
        {requestId && (
          <p>
            <small>Request id: {requestId}</small>
          </p>
        )}
        <p>
          <a href="/admin">← Back to the admin panel</a>
        </p>
      </main>
    </Document>,
  );
}
