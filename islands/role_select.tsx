/** A role picker that changes a member's role as soon as another role is chosen. */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";

export interface RoleSelectProps {
  action: string;
  role: string;
  roles: Array<{ value: string; label: string }>;
  /** The select's accessible name and the fallback error text, in the page's language. */
  label: string;
  failed: string;
}

export default function RoleSelect({ action, role, roles, label, failed }: RoleSelectProps) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span>
      <select
        aria-label={label}
        aria-busy={busy}
        disabled={busy}
        class="compact"
        onChange={async (e) => {
          const next = (e.currentTarget as HTMLSelectElement).value;
          setBusy(true);
          const res = await api(action, { method: "PATCH", body: { role: next } });
          setBusy(false);
          if (!res.ok) setError(res.error ?? failed);
          else location.reload();
        }}
      >
        {roles.map((r) => <option key={r.value} value={r.value} selected={r.value === role}>{r.label}</option>)}
      </select>
      {error && <small role="alert" class="error">{error}</small>}
    </span>
  );
}
