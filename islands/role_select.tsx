/** A role picker that changes a member's role as soon as another role is chosen. */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";

export interface RoleSelectProps {
  action: string;
  role: string;
  roles: string[];
}

export default function RoleSelect({ action, role, roles }: RoleSelectProps) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span>
      <select
        aria-label="Role"
        aria-busy={busy}
        disabled={busy}
        style="margin:0;padding-block:0.25rem"
        onChange={async (e) => {
          const next = (e.currentTarget as HTMLSelectElement).value;
          setBusy(true);
          const res = await api(action, { method: "PATCH", body: { role: next } });
          setBusy(false);
          if (!res.ok) setError(res.error ?? "failed");
          else location.reload();
        }}
      >
        {roles.map((r) => <option key={r} value={r} selected={r === role}>{r}</option>)}
      </select>
      {error && <small role="alert" class="error">{error}</small>}
    </span>
  );
}
