/**
 * A generic form that sends its fields as JSON to one API endpoint and shows
 * the answer: used by admin pages for small writes (add member, create
 * token, settings). `showResult` displays one field of the answer once, e.g.
 * a new token's value.
 */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";

export interface FieldSpec {
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "number" | "select" | "checkbox" | "textarea" | "url";
  options?: string[];
  required?: boolean;
  value?: string | number | boolean;
  placeholder?: string;
  /** Send an empty field as "" (the API then clears the stored value) instead of leaving it out. */
  clearable?: boolean;
}

export interface ApiFormProps {
  action: string;
  method?: string;
  fields: FieldSpec[];
  submitLabel: string;
  /** A field of the JSON answer to show once (e.g. "value" of a new token). */
  showResult?: string;
  /** Reload the page after success so server-rendered tables refresh. */
  reload?: boolean;
}

export default function ApiForm(
  { action, method = "POST", fields, submitLabel, showResult, reload = true }: ApiFormProps,
) {
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const body: Record<string, unknown> = {};
    for (const f of fields) {
      const el = form.elements.namedItem(f.name) as HTMLInputElement | null;
      if (!el) continue;
      if (f.type === "checkbox") body[f.name] = el.checked;
      else if (el.value === "") body[f.name] = f.clearable ? "" : undefined;
      else if (f.type === "number") body[f.name] = Number(el.value);
      else body[f.name] = el.value;
    }
    setBusy(true);
    setError(null);
    const res = await api<Record<string, unknown>>(action, { method, body });
    setBusy(false);
    if (!res.ok) return setError(res.error ?? "failed");
    if (showResult && res.data && res.data[showResult] !== undefined) {
      setResult(String(res.data[showResult]));
      return;
    }
    if (reload) location.reload();
  }

  return (
    <form onSubmit={submit}>
      {fields.map((f) => (
        <label key={f.name}>
          {f.type === "checkbox" ? <input type="checkbox" name={f.name} checked={Boolean(f.value)} /> : null}
          {f.label}
          {f.type === "select"
            ? (
              <select name={f.name} required={f.required}>
                {(f.options ?? []).map((o) => <option key={o} value={o} selected={o === f.value}>{o}</option>)}
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
              />
            )}
        </label>
      ))}
      {error && <p role="alert" class="error">{error}</p>}
      {result && (
        <p role="status">
          Copy it now, it is shown only once: <code data-testid="api-form-result">{result}</code>
        </p>
      )}
      <button type="submit" aria-busy={busy}>{submitLabel}</button>
    </form>
  );
}
