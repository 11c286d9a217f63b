/**
 * The API tokens page's live part: the list (cards on a phone), revoke, and
 * "New token" — the new value is shown once with a copy button and the list
 * is fetched again, so the new token appears without a reload.
 */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import { CopyButton } from "./_copy.tsx";

export interface TokenItem {
  id: string;
  name: string;
  role: string;
  effectiveRole: string | null;
  prefix: string;
  createdAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
  creator: { kind: "member" | "operator"; userId?: string; email?: string };
}

export interface TokensPanelProps {
  initial: TokenItem[];
  /** Roles this admin may give a token, with their names. */
  roles: Array<{ value: string; label: string }>;
  /** Member names by user id (the creator column shows names, not ids). */
  names: Record<string, string>;
  i18n: IslandI18n;
}

export default function TokensPanel({ initial, roles, names, i18n }: TokensPanelProps) {
  const { t, dateTime } = islandTranslator(i18n);
  const [items, setItems] = useState(initial);
  const [value, setValue] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const roleName = (r: string | null) => roles.find((x) => x.value === r)?.label ?? r ?? "";

  async function refresh() {
    const res = await api<{ items: TokenItem[] }>("/api/v1/tokens");
    if (res.ok) setItems(res.data.items);
  }

  async function create(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const get = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    setBusy(true);
    setError(null);
    const res = await api<{ value: string }>("/api/v1/tokens", {
      method: "POST",
      body: { name: get("name"), role: get("role") },
    });
    setBusy(false);
    if (!res.ok) return setError(res.error ?? t("common.failed"));
    setValue(res.data.value);
    form.reset();
    await refresh();
  }

  async function revoke(token: TokenItem) {
    if (!confirm(t("tokens.revoke.confirm", { name: token.name }))) return;
    const res = await api(`/api/v1/tokens/${token.id}`, { method: "DELETE" });
    if (!res.ok) return setError(res.error ?? t("common.failed"));
    setStatus(t("tokens.revoke.done"));
    await refresh();
  }

  const creator = (c: TokenItem["creator"]) =>
    c.kind === "operator" ? t("tokens.creator.operator") : (c.userId && names[c.userId]) || c.email || t("common.none");

  return (
    <div>
      <table class="striped cards" data-testid="tokens-table">
        <thead>
          <tr>
            <th>{t("tokens.col.name")}</th>
            <th>{t("tokens.col.role")}</th>
            <th>{t("tokens.col.creator")}</th>
            <th>{t("tokens.col.prefix")}</th>
            <th>{t("tokens.col.created")}</th>
            <th>{t("tokens.col.lastUsed")}</th>
            <th>{t("tokens.col.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((tk) => (
            <tr key={tk.id} data-token-id={tk.id}>
              <td data-label={t("tokens.col.name")}>
                <strong>{tk.name}</strong>
              </td>
              <td data-label={t("tokens.col.role")}>
                {roleName(tk.role)}
                {tk.effectiveRole && tk.effectiveRole !== tk.role && (
                  <small title={t("tokens.capped")}>→ {roleName(tk.effectiveRole)}</small>
                )}
              </td>
              <td data-label={t("tokens.col.creator")}>{creator(tk.creator)}</td>
              <td data-label={t("tokens.col.prefix")}>
                <code>{tk.prefix}…</code>
              </td>
              <td data-label={t("tokens.col.created")}>{dateTime(tk.createdAt)}</td>
              <td data-label={t("tokens.col.lastUsed")}>
                {tk.lastUsedAt ? dateTime(tk.lastUsedAt) : t("tokens.never")}
              </td>
              <td data-label={t("tokens.col.actions")} class="actions">
                {tk.revokedAt
                  ? <small>{t("tokens.revoked", { at: dateTime(tk.revokedAt) })}</small>
                  : (
                    <button type="button" class="secondary outline compact" onClick={() => revoke(tk)}>
                      {t("tokens.revoke")}
                    </button>
                  )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && <p>{t("tokens.empty")}</p>}
      {status && <p role="status">{status}</p>}
      <h2>{t("tokens.new.title")}</h2>
      <form onSubmit={create} data-testid="new-token">
        <div class="grid">
          <label>
            {t("tokens.new.name")}
            <input name="name" required maxLength={100} placeholder={t("tokens.new.namePlaceholder")} />
          </label>
          <label>
            {t("tokens.new.role")}
            <select name="role">
              {roles.map((r) => (
                <option key={r.value} value={r.value} selected={r.value === "operator"}>{r.label}</option>
              ))}
            </select>
          </label>
        </div>
        {error && <p role="alert" class="error">{error}</p>}
        {value && (
          <p role="status" class="once">
            {t("common.showOnce")} <code data-testid="token-value">{value}</code>{" "}
            <CopyButton value={value} copy={t("common.copy")} copied={t("common.copied")} />
          </p>
        )}
        <button type="submit" aria-busy={busy}>{t("tokens.new.submit")}</button>
      </form>
    </div>
  );
}
