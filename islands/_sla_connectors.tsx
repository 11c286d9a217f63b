/**
 * The connectors part of the SLA page: one card per connector with its live
 * status (cards, not a wide table, so the actions stay reachable at 390 px),
 * and for admins the create form (token and key shown once), rotate, revoke.
 */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";
import type { PublicConnector } from "../lib/connector/registry.ts";
import { type SlaI18n, slaTranslator } from "./_sla_text.ts";

interface Created {
  credentials: { connectorId: string; token: string; key: string };
  env: Record<string, string>;
}

const STATE = {
  online: "connectors.state.online",
  offline: "connectors.state.offline",
  revoked: "connectors.state.revoked",
} as const;
const OUTCOME = {
  ok: "connectors.job.ok",
  failed: "connectors.job.failed",
  expired: "connectors.job.expired",
} as const;

export default function SlaConnectors(
  { connectors, i18n, canAdmin, onChange }: {
    connectors: PublicConnector[];
    i18n: SlaI18n;
    canAdmin: boolean;
    onChange: () => void;
  },
) {
  const tr = slaTranslator(i18n);
  const { t } = tr;
  const [shown, setShown] = useState<Created | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function create(ev: Event) {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const name = (form.elements.namedItem("name") as HTMLInputElement).value;
    setBusy(true);
    const res = await api<Created>("/api/v1/connectors", { method: "POST", body: { name } });
    setBusy(false);
    if (!res.ok) return setError(res.error ?? null);
    setError(null);
    setShown(res.data);
    form.reset();
    onChange();
  }

  async function act(c: PublicConnector, action: "rotate" | "revoke") {
    if (action === "revoke" && !confirm(t("connectors.revoke.confirm", { name: c.name }))) return;
    const res = await api<Created>(`/api/v1/connectors/${c.id}/${action}`, { method: "POST" });
    if (!res.ok) return setError(res.error ?? null);
    setError(null);
    if (action === "rotate") setShown(res.data);
    onChange();
  }

  return (
    <section data-testid="sla-connectors">
      <h2>{t("connectors.list.title")}</h2>
      {connectors.length === 0 && <p>{t("connectors.list.empty")}</p>}
      <div style="display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:1rem">
        {connectors.map((c) => {
          const state = c.revokedAt ? "revoked" : c.status.state;
          const s = c.status;
          return (
            <article key={c.id} data-connector={c.id} data-state={state}>
              <header>
                <strong>{c.name}</strong> <mark data-testid="connector-state">{t(STATE[state])}</mark>
              </header>
              <small>
                {s.version && <div>{t("connectors.field.version")}: {s.version}</div>}
                {s.agentIntervalSec && (
                  <div>{t("connectors.field.agentInterval", { seconds: s.agentIntervalSec })}</div>
                )}
                {s.remoteAddress && <div>{t("connectors.field.address")}: {s.remoteAddress}</div>}
                {s.connectedSince && state === "online" && (
                  <div>{t("connectors.field.since")}: {tr.dateTime(s.connectedSince)}</div>
                )}
                {s.lastSeen && <div>{t("connectors.field.lastSeen")}: {tr.dateTime(s.lastSeen)}</div>}
                {s.lastJob && (
                  <div>
                    {t("connectors.field.lastJob")}: {tr.dateTime(s.lastJob.at)} ·{" "}
                    {s.lastJob.filter ?? s.lastJob.action} · {t(OUTCOME[s.lastJob.outcome])}
                    {s.lastJob.count !== undefined ? ` · ${s.lastJob.count}` : ""}
                  </div>
                )}
                {s.lastError && <div class="error">{t("connectors.field.lastError")}: {s.lastError}</div>}
                <div>
                  <code>{c.id}</code>
                </div>
              </small>
              {canAdmin && !c.revokedAt && (
                <footer style="display:flex;flex-wrap:wrap;gap:.5rem">
                  <button
                    type="button"
                    class="secondary outline"
                    onClick={() => act(c, "rotate")}
                  >
                    {t("connectors.rotate")}
                  </button>{" "}
                  <button type="button" class="secondary outline" onClick={() => act(c, "revoke")}>
                    {t("connectors.revoke")}
                  </button>
                </footer>
              )}
            </article>
          );
        })}
      </div>
      {error && <p class="error" data-testid="connectors-error">{error}</p>}
      {shown && (
        <article data-testid="connector-credentials">
          <p>{t("connectors.create.once")}</p>
          <pre style="white-space:pre-wrap;word-break:break-all">{Object.entries(shown.env).map(([k, v]) => `${k}=${v}`).join("\n")}</pre>
        </article>
      )}
      {canAdmin && (
        <form onSubmit={create} data-testid="connector-create">
          <h3>{t("connectors.create.title")}</h3>
          <fieldset role="group">
            <input
              name="name"
              required
              maxLength={100}
              aria-label={t("connectors.create.name")}
              placeholder={t("connectors.create.name")}
            />
            <button type="submit" aria-busy={busy}>{t("connectors.create.submit")}</button>
          </fieldset>
        </form>
      )}
    </section>
  );
}
