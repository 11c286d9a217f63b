/** A button that calls one API endpoint (revoke, re-drive, discard, refresh) and reloads the page. */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";

export interface ApiActionProps {
  action: string;
  method?: string;
  label: string;
  confirm?: string;
  body?: unknown;
  variant?: "primary" | "secondary" | "contrast";
}

export default function ApiAction(
  { action, method = "POST", label, confirm, body, variant = "secondary" }: ApiActionProps,
) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span>
      <button
        type="button"
        class={`${variant} outline`}
        aria-busy={busy}
        onClick={async () => {
          if (confirm && !globalThis.confirm(confirm)) return;
          setBusy(true);
          const res = await api(action, { method, body: body ?? {} });
          setBusy(false);
          if (!res.ok) setError(res.error ?? "failed");
          else location.reload();
        }}
      >
        {label}
      </button>
      {error && <small role="alert">{error}</small>}
    </span>
  );
}
