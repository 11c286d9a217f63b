/**
 * A button that calls one API endpoint (revoke, re-drive, discard, refresh)
 * and says what happened. `after: "reload"` reloads the page so server-rendered
 * tables refresh, and shows `done` again after the reload; `after: "stay"`
 * keeps the page and disables the button once it has worked.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./_lib.ts";

export interface ApiActionProps {
  action: string;
  method?: string;
  label: string;
  confirm?: string;
  body?: unknown;
  variant?: "primary" | "secondary" | "contrast";
  /** Shown after success (in the page's language). */
  done?: string;
  /** Shown when the API answers without an error message. */
  failed?: string;
  after?: "reload" | "stay";
  testId?: string;
}

const FLASH = "shlyuz-flash:";

export default function ApiAction(
  {
    action,
    method = "POST",
    label,
    confirm,
    body,
    variant = "secondary",
    done,
    failed = "failed",
    after = "reload",
    testId,
  }: ApiActionProps,
) {
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // The message of a success that reloaded the page.
    const flash = sessionStorage.getItem(FLASH + action);
    if (flash) {
      sessionStorage.removeItem(FLASH + action);
      setStatus(flash);
    }
  }, []);

  return (
    <span class="api-action" data-testid={testId}>
      <button
        type="button"
        class={`${variant} outline`}
        aria-busy={busy}
        disabled={busy || (after === "stay" && status !== null)}
        onClick={async () => {
          if (confirm && !globalThis.confirm(confirm)) return;
          setBusy(true);
          setError(null);
          const res = await api(action, { method, body: body ?? {} });
          setBusy(false);
          if (!res.ok) return setError(res.error ?? failed);
          if (after === "stay") return setStatus(done ?? "✓");
          if (done) sessionStorage.setItem(FLASH + action, done);
          location.reload();
        }}
      >
        {label}
      </button>
      {status && <small role="status">{status}</small>}
      {error && <small role="alert" class="error">{error}</small>}
    </span>
  );
}
