/**
 * A generic form that sends its fields as JSON to one API endpoint and shows
 * the answer: used by admin pages for small writes (add member, settings).
 * Labels come translated from the page. A field may say where its current
 * value comes from (`source`) and be reset: a cleared `clearable` field, or a
 * ticked `reset` box for a secret, sends "" and the environment default applies
 * again. `showResult` displays one field of the answer once, with a copy button.
 */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";
import { CopyButton } from "./_copy.tsx";

export interface FieldSpec {
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "number" | "select" | "checkbox" | "textarea" | "url";
  options?: Array<string | { value: string; label: string }>;
  required?: boolean;
  value?: string | number | boolean;
  placeholder?: string;
  /** Send an empty field as "" (the API then clears the stored value) instead of leaving it out. */
  clearable?: boolean;
  /** Where the current value comes from, in words ("задано организацией", "из окружения"). */
  source?: string;
  /** A secret that is not echoed back: the label of a box that clears the stored value. */
  reset?: string;
  /** A list of suggestions for a text field (e.g. time zones). */
  suggestions?: string[];
}

export interface FormText {
  failed: string;
  showOnce: string;
  copy: string;
  copied: string;
  done: string;
}

export interface ApiFormProps {
  action: string;
  method?: string;
  fields: FieldSpec[];
  submitLabel: string;
  /** The form's fixed words in the page's language (routes/pages/i18n.ts `formText`). */
  text?: FormText;
  /** A field of the JSON answer to show once (e.g. "value" of a new token). */
  showResult?: string;
  /** Reload the page after success so server-rendered tables refresh. */
  reload?: boolean;
  testId?: string;
}

const NO_TEXT: FormText = { failed: "✗", showOnce: "", copy: "⧉", copied: "✓", done: "✓" };

const optionOf = (o: string | { value: string; label: string }) => typeof o === "string" ? { value: o, label: o } : o;

export default function ApiForm(
  { action, method = "POST", fields, submitLabel, text = NO_TEXT, showResult, reload = true, testId }: ApiFormProps,
) {
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const body: Record<string, unknown> = {};
    for (const f of fields) {
      const el = form.elements.namedItem(f.name) as HTMLInputElement | null;
      if (!el) continue;
      const reset = form.elements.namedItem(`${f.name}__reset`) as HTMLInputElement | null;
      if (reset?.checked) body[f.name] = "";
      else if (f.type === "checkbox") body[f.name] = el.checked;
      else if (el.value === "") body[f.name] = f.clearable ? "" : undefined;
      else if (f.type === "number") body[f.name] = Number(el.value);
      else body[f.name] = el.value;
    }
    setBusy(true);
    setError(null);
    setSaved(false);
    const res = await api<Record<string, unknown>>(action, { method, body });
    setBusy(false);
    if (!res.ok) return setError(res.error ?? text.failed);
    if (showResult && res.data && res.data[showResult] !== undefined) {
      setResult(String(res.data[showResult]));
      return;
    }
    if (reload) location.reload();
    else setSaved(true);
  }

  return (
    <form onSubmit={submit} data-testid={testId}>
      {fields.map((f) => (
        <label key={f.name}>
          {f.type === "checkbox" ? <input type="checkbox" name={f.name} checked={Boolean(f.value)} /> : null}
          {f.label}
          {f.source && (
            <small class="source" data-testid={`source-${f.name}`}>
              ({f.source})
            </small>
          )}
          {f.type === "select"
            ? (
              <select name={f.name} required={f.required}>
                {(f.options ?? []).map(optionOf).map((o) => (
                  <option key={o.value} value={o.value} selected={o.value === f.value}>{o.label}</option>
                ))}
              </select>
            )
            : f.type === "textarea"
            ? <textarea name={f.name} required={f.required} placeholder={f.placeholder}>{f.value as string}</textarea>
            : f.type === "checkbox"
            ? null
            : (
              <input
                name={f.name}
                type={(f.type ?? "text") as "text"}
                required={f.required}
                placeholder={f.placeholder}
                value={f.value as string | number | undefined}
                list={f.suggestions ? `${f.name}-suggestions` : undefined}
              />
            )}
          {f.suggestions && (
            <datalist id={`${f.name}-suggestions`}>
              {f.suggestions.map((s) => <option key={s} value={s} />)}
            </datalist>
          )}
          {f.reset && (
            <small>
              <input type="checkbox" name={`${f.name}__reset`} /> {f.reset}
            </small>
          )}
        </label>
      ))}
      {error && <p role="alert" class="error">{error}</p>}
      {saved && <p role="status">{text.done}</p>}
      {result && (
        <p role="status" class="once">
          {text.showOnce} <code data-testid="api-form-result">{result}</code>{" "}
          <CopyButton value={result} copy={text.copy} copied={text.copied} />
        </p>
      )}
      <button type="submit" aria-busy={busy}>{submitLabel}</button>
    </form>
  );
}
