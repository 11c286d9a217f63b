/**
 * Rules: the list (switch on/off, edit, delete) and the editor — event type
 * from the catalogue with its fields, conditions, template, targets, noise
 * control — with a tester that renders the message for sample data (nothing
 * is sent). Saving shows the API's reason when a field is wrong.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { BotItem, ChatItem, EventTypeItem, RuleItem } from "./_notify.ts";
import { OPS } from "./_notify.ts";

export interface NotifyRulesProps {
  i18n: IslandI18n;
  rules: RuleItem[];
  eventTypes: EventTypeItem[];
  chats: ChatItem[];
  bots: BotItem[];
  canWrite: boolean;
  canTest: boolean;
}

type Draft = Omit<RuleItem, "id"> & { id?: string };

const EMPTY: Draft = {
  name: "",
  enabled: true,
  eventType: "mail.received",
  match: "all",
  conditions: [],
  template: "📧 <b>{{subject}}</b>\n{{from}}",
  targets: [],
};

/** The rule as the API takes it: empty optional fields left out. */
function body(d: Draft) {
  const { id: _id, preset: _p, ...rest } = d as Draft & { createdAt?: string; updatedAt?: string };
  const out: Record<string, unknown> = { ...rest };
  delete out.createdAt;
  delete out.updatedAt;
  delete out.org;
  for (const k of ["webhookUrl", "botId", "repeatKey"]) if (!out[k]) delete out[k];
  for (const k of ["repeatMinutes", "digestMinutes"]) if (!out[k]) delete out[k];
  return out;
}

export default function NotifyRules(props: NotifyRulesProps) {
  const { t } = islandTranslator(props.i18n);
  const [rules, setRules] = useState(props.rules);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState("");
  const [note, setNote] = useState("");
  const [sample, setSample] = useState('{\n  "subject": "Счёт №42",\n  "from": "buh@example.ru"\n}');
  const [preview, setPreview] = useState<{ matched: boolean; text: string } | null>(null);
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function reload() {
    const r = await api<{ items: RuleItem[] }>("/api/v1/rules");
    if (r.ok) setRules(r.data.items);
  }
  async function save() {
    if (!draft) return;
    setError("");
    const r = await api(draft.id ? `/api/v1/rules/${draft.id}` : "/api/v1/rules", {
      method: draft.id ? "PUT" : "POST",
      body: body(draft),
    });
    if (!r.ok) return setError(r.error ?? "");
    setNote(t("notify.rules.saved"));
    setDraft(null);
    await reload();
  }
  async function toggle(rule: RuleItem) {
    setError("");
    const r = await api(`/api/v1/rules/${rule.id}`, { method: "PUT", body: body({ ...rule, enabled: !rule.enabled }) });
    if (!r.ok) setError(r.error ?? "");
    await reload();
  }
  async function test() {
    if (!draft) return;
    setError("");
    let data: Record<string, unknown> = {};
    try {
      data = JSON.parse(sample || "{}");
    } catch (e) {
      return setError(String(e));
    }
    const r = await api<{ results: Array<{ matched: boolean; text: string }> }>("/api/v1/rules/test", {
      body: { type: draft.eventType.replace(/\*$/, "x"), data, rule: body({ ...draft, enabled: true }) },
    });
    if (!r.ok) return setError(r.error ?? "");
    setPreview(r.data.results[0] ?? { matched: false, text: "" });
  }

  const chatName = (id: string) => props.chats.find((c) => c.id === id)?.title ?? id;
  const fields = props.eventTypes.find((e) => e.type === draft?.eventType)?.fields ?? [];
  const set = (patch: Partial<Draft>) => draft && setDraft({ ...draft, ...patch });
  const num = (v: string) => (v ? Number(v) : undefined);

  return (
    <div data-ready={ready ? "" : undefined}>
      {error && <p role="alert" class="error" data-testid="rules-error">{error}</p>}
      {note && <p role="status">{note}</p>}
      {rules.length === 0 && <p>{t("notify.rules.none")}</p>}
      {rules.map((r) => (
        <article key={r.id} data-testid="rule">
          <strong>{r.name}</strong> · <code>{r.eventType}</code> ·{" "}
          <mark>{t(r.enabled ? "notify.rules.on" : "notify.rules.off")}</mark>
          <br />
          <small>
            {r.targets.map((x) => chatName(x.chatId)).concat(r.webhookUrl ? [r.webhookUrl] : []).join(", ") || "—"}
          </small>
          {props.canWrite && (
            <div role="group">
              <button type="button" class="secondary outline" onClick={() => toggle(r)}>
                {t(r.enabled ? "notify.rules.disable" : "notify.rules.enable")}
              </button>
              <button type="button" class="secondary outline" onClick={() => setDraft({ ...r })}>
                {t("notify.rules.edit")}
              </button>
              <button
                type="button"
                class="secondary outline"
                onClick={async () => {
                  await api(`/api/v1/rules/${r.id}`, { method: "DELETE" });
                  await reload();
                }}
              >
                {t("notify.rules.delete")}
              </button>
            </div>
          )}
        </article>
      ))}
      {props.canWrite && !draft && (
        <button
          type="button"
          onClick={() => setDraft({ ...EMPTY, targets: [] })}
          data-testid="rule-new"
        >
          {t("notify.rules.new")}
        </button>
      )}
      {draft && (
        <form
          data-testid="rule-form"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          <label>
            {t("notify.rules.name")}
            <input
              name="name"
              required
              value={draft.name}
              onInput={(e) => set({ name: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            {t("notify.rules.eventType")}
            <input
              name="eventType"
              list="notify-event-types"
              required
              value={draft.eventType}
              onInput={(e) => set({ eventType: (e.target as HTMLInputElement).value })}
            />
            <datalist id="notify-event-types">
              {props.eventTypes.map((e) => <option key={e.type} value={e.type}>{e.description}</option>)}
            </datalist>
          </label>
          <fieldset>
            <legend>{t("notify.rules.match")}</legend>
            <select
              name="match"
              value={draft.match}
              onChange={(e) => set({ match: (e.target as HTMLSelectElement).value as Draft["match"] })}
            >
              <option value="all">{t("notify.rules.match.all")}</option>
              <option value="any">{t("notify.rules.match.any")}</option>
            </select>
            {draft.conditions.map((c, i) => (
              <div class="grid" key={i}>
                <input
                  aria-label={t("notify.rules.field")}
                  list="notify-fields"
                  value={c.field}
                  onInput={(e) => {
                    const conditions = [...draft.conditions];
                    conditions[i] = { ...c, field: (e.target as HTMLInputElement).value };
                    set({ conditions });
                  }}
                />
                <select
                  aria-label={t("notify.rules.match")}
                  value={c.op}
                  onChange={(e) => {
                    const conditions = [...draft.conditions];
                    conditions[i] = { ...c, op: (e.target as HTMLSelectElement).value as typeof c.op };
                    set({ conditions });
                  }}
                >
                  {(Object.keys(OPS) as Array<keyof typeof OPS>).map((op) => (
                    <option key={op} value={op}>{t(OPS[op])}</option>
                  ))}
                </select>
                <input
                  aria-label={t("notify.rules.value")}
                  value={c.value}
                  onInput={(e) => {
                    const conditions = [...draft.conditions];
                    conditions[i] = { ...c, value: (e.target as HTMLInputElement).value };
                    set({ conditions });
                  }}
                />
              </div>
            ))}
            <datalist id="notify-fields">{fields.map((f) => <option key={f} value={f} />)}</datalist>
            <button
              type="button"
              class="secondary outline"
              onClick={() =>
                set({ conditions: [...draft.conditions, { field: fields[0] ?? "", op: "contains", value: "" }] })}
            >
              {t("notify.rules.addCondition")}
            </button>
          </fieldset>
          <label>
            {t("notify.rules.template")}
            <textarea
              name="template"
              rows={4}
              value={draft.template}
              onInput={(e) => set({ template: (e.target as HTMLTextAreaElement).value })}
            />
            <small>
              {t("notify.rules.templateHint", { fields: ["event.type", ...fields].map((f) => `{{${f}}}`).join(" ") })}
            </small>
          </label>
          <fieldset>
            <legend>{t("notify.rules.targets")}</legend>
            {props.chats.filter((c) => c.status === "active").map((c) => (
              <label key={c.id}>
                <input
                  type="checkbox"
                  name="target"
                  value={c.id}
                  checked={draft.targets.some((x) => x.chatId === c.id)}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    set({
                      targets: on
                        ? [...draft.targets, { chatId: c.id }]
                        : draft.targets.filter((x) => x.chatId !== c.id),
                    });
                  }}
                />
                {c.title}
              </label>
            ))}
          </fieldset>
          <label>
            {t("notify.rules.webhook")}
            <input
              name="webhookUrl"
              value={draft.webhookUrl ?? ""}
              onInput={(e) => set({ webhookUrl: (e.target as HTMLInputElement).value })}
            />
          </label>
          <div class="grid">
            <label>
              {t("notify.rules.repeat")}
              <input
                inputMode="numeric"
                value={draft.repeatMinutes ?? ""}
                onInput={(e) => set({ repeatMinutes: num((e.target as HTMLInputElement).value) })}
              />
            </label>
            <label>
              {t("notify.rules.repeatKey")}
              <input
                value={draft.repeatKey ?? ""}
                onInput={(e) => set({ repeatKey: (e.target as HTMLInputElement).value })}
              />
            </label>
            <label>
              {t("notify.rules.digest")}
              <input
                inputMode="numeric"
                value={draft.digestMinutes ?? ""}
                onInput={(e) => set({ digestMinutes: num((e.target as HTMLInputElement).value) })}
              />
            </label>
          </div>
          <label>
            <input
              type="checkbox"
              name="enabled"
              checked={draft.enabled}
              onChange={(e) => set({ enabled: (e.target as HTMLInputElement).checked })}
            />
            {t("notify.rules.enabled")}
          </label>
          {props.canTest && (
            <details>
              <summary>{t("notify.rules.test")}</summary>
              <label>
                {t("notify.rules.sample")}
                <textarea
                  name="sample"
                  rows={4}
                  value={sample}
                  onInput={(e) => setSample((e.target as HTMLTextAreaElement).value)}
                />
              </label>
              <button type="button" class="secondary" onClick={test} data-testid="rule-test">
                {t("notify.rules.test")}
              </button>
              {preview && (
                <div data-testid="rule-preview">
                  <p>{t(preview.matched ? "notify.rules.fires" : "notify.rules.noFire")}</p>
                  {preview.matched && <pre class="pre">{preview.text}</pre>}
                </div>
              )}
            </details>
          )}
          <div role="group">
            <button type="submit" data-testid="rule-save">{t("notify.rules.save")}</button>
            <button type="button" class="secondary outline" onClick={() => setDraft(null)}>
              {t("notify.rules.cancel")}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
