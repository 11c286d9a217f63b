/**
 * The schedule form: "New schedule" (POST) or, given `schedule`, editing one
 * (PUT with every field, so nothing is lost; secret headers come prefilled as
 * •••• and sending •••• back keeps the stored value). Shows the API's 422 messages.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";

/** A schedule as the API answers it (the fields the form edits). */
export interface EditableSchedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  action:
    | {
      type: "http";
      method: string;
      url: string;
      headers: Record<string, string>;
      secretHeaders?: string[];
      body?: string;
    }
    | { type: "internal"; job: string; payload: Record<string, unknown> };
  overlap: string;
  catchUp: string;
  retry: { attempts: number; backoffMs: number };
  timeoutMs: number;
}

export interface SchedulerFormProps {
  defaultTimezone: string;
  /** Job kinds an organization may schedule, with the JSON Schema of each payload. */
  jobs: Array<{ kind: string; payloadSchema: Record<string, unknown> }>;
  /** The schedule to edit; without it the form creates one. */
  schedule?: EditableSchedule;
  i18n: IslandI18n;
}

interface Preview {
  description: string | null;
  timezone: string;
  next: Array<{ at: string; local: string }>;
}

/** The cron in words and its next five runs, asked from the hub while the user types (one request at a time). */
function useCronPreview(cron: string, timezone: string, locale: string) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (!cron.trim()) {
      setPreview(null);
      setProblem(null);
      return;
    }
    let current = true;
    const qs = new URLSearchParams({
      cron: cron.trim(),
      locale,
      ...(timezone.trim() ? { timezone: timezone.trim() } : {}),
    });
    api<Preview>(`/api/v1/cron/preview?${qs}`).then((res) => {
      if (!current) return;
      if (res.ok) {
        setPreview(res.data);
        setProblem(null);
      } else {
        setPreview(null);
        setProblem(res.error ?? "");
      }
    });
    return () => {
      current = false;
    };
  }, [cron, timezone, locale]);
  return { preview, problem };
}

/** Every IANA zone this browser knows, for the picker (empty where the API is missing). */
function zones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

const METHODS = ["POST", "GET", "PUT", "PATCH", "DELETE", "HEAD"];

/** The form's text fields, prefilled from `s` (or the defaults of a new schedule). */
function initialValues(s: EditableSchedule | undefined, jobs: SchedulerFormProps["jobs"]): Record<string, string> {
  const a = s?.action;
  const headers = a?.type === "http" && Object.keys(a.headers).length ? JSON.stringify(a.headers) : "";
  const payload = a?.type === "internal" && Object.keys(a.payload).length ? JSON.stringify(a.payload) : "";
  return {
    name: s?.name ?? "",
    cron: s?.cron ?? "",
    timezone: s?.timezone ?? "",
    type: a?.type ?? "http",
    method: a?.type === "http" ? a.method : "POST",
    url: a?.type === "http" ? a.url : "",
    headers,
    body: a?.type === "http" ? a.body ?? "" : "",
    job: a?.type === "internal" ? a.job : jobs[0]?.kind ?? "",
    payload,
    overlap: s?.overlap ?? "skip",
    catchUp: s?.catchUp ?? "skip",
    attempts: String(s?.retry.attempts ?? 0),
    backoffMs: String(s?.retry.backoffMs ?? 1000),
    timeoutMs: String(s?.timeoutMs ?? 30000),
  };
}

export default function SchedulerForm({ defaultTimezone, jobs, schedule, i18n }: SchedulerFormProps) {
  const tr = islandTranslator(i18n);
  const { t } = tr;
  // Controlled fields: a re-render (busy, error) must not reset what the user typed.
  const [v, setV] = useState(() => initialValues(schedule, jobs));
  const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [ready, setReady] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const editing = schedule !== undefined;
  const { preview, problem } = useCronPreview(v.cron, v.timezone, i18n.locale);
  const [zoneList, setZoneList] = useState<string[]>([]);

  useEffect(() => {
    setReady(true);
    setZoneList(zones());
    // "Edit" links point at #edit: open the surrounding <details> at once.
    if (editing && location.hash === "#edit") formRef.current?.closest("details")?.setAttribute("open", "");
  }, []);

  const bind = (name: string) => ({
    name,
    value: v[name],
    onInput: (e: Event) => {
      const value = (e.currentTarget as HTMLInputElement).value;
      setV((old) => ({ ...old, [name]: value }));
    },
  });

  async function submit(e: Event) {
    e.preventDefault();
    const text = (k: string) => (v[k] ?? "").trim();
    let action: Record<string, unknown>;
    try {
      if (v.type === "http") {
        const headers = text("headers") ? JSON.parse(text("headers")) : {};
        // Keep headers marked secret by name (not only by look) secret, so •••• keeps their value.
        const prev = schedule?.action.type === "http" ? schedule.action.secretHeaders ?? [] : [];
        action = {
          type: "http",
          method: text("method"),
          url: text("url"),
          headers,
          secretHeaders: prev.filter((n) => n in headers),
          ...(text("body") ? { body: v.body } : {}),
        };
      } else {
        action = { type: "internal", job: text("job"), payload: text("payload") ? JSON.parse(text("payload")) : {} };
      }
    } catch {
      setError(t("scheduler.form.json"));
      return;
    }
    setBusy(true);
    setError(null);
    const res = await api(editing ? `/api/v1/schedules/${schedule.id}` : "/api/v1/schedules", {
      method: editing ? "PUT" : "POST",
      body: {
        name: text("name"),
        cron: text("cron"),
        timezone: text("timezone") || undefined,
        enabled,
        overlap: text("overlap"),
        catchUp: text("catchUp"),
        retry: { attempts: Number(text("attempts") || 0), backoffMs: Number(text("backoffMs") || 1000) },
        timeoutMs: Number(text("timeoutMs") || 30000),
        action,
      },
    });
    setBusy(false);
    if (!res.ok) setError(res.error ?? t("common.failed"));
    else location.reload();
  }

  async function remove() {
    if (!schedule || !confirm(t("scheduler.delete.confirm", { name: schedule.name }))) return;
    setBusy(true);
    const res = await api(`/api/v1/schedules/${schedule.id}`, { method: "DELETE" });
    setBusy(false);
    if (!res.ok) setError(t("scheduler.form.cannotDelete", { reason: res.error ?? "" }));
    else location.assign("/admin/scheduler");
  }

  return (
    <form
      ref={formRef}
      onSubmit={submit}
      data-testid={editing ? "edit-schedule" : "new-schedule"}
      data-ready={ready ? "" : undefined}
    >
      <div class="grid">
        <label>
          {t("scheduler.form.name")} <input {...bind("name")} required />
        </label>
        <label>
          {t("scheduler.form.cron")} <input {...bind("cron")} required placeholder="0 9 * * 1-5" />
        </label>
        <label>
          {t("scheduler.form.timezone")}{" "}
          <input {...bind("timezone")} placeholder={defaultTimezone} list="scheduler-zones" autocomplete="off" />
          <datalist id="scheduler-zones">
            {zoneList.map((z) => <option key={z} value={z} />)}
          </datalist>
        </label>
      </div>
      <div data-testid="cron-preview" aria-live="polite">
        {problem && <p class="error">{t("scheduler.form.invalidCron", { reason: problem })}</p>}
        {preview && (
          <div>
            <strong data-testid="cron-words">{preview.description ?? t("scheduler.cron.unknown")}</strong>
            <br />
            <small>
              {t("scheduler.form.preview")} ({t("scheduler.form.previewZone", { zone: preview.timezone })}):
            </small>
            <ol class="next-runs">
              {preview.next.map((n) => <li key={n.at}>{tr.dateTime(n.at, preview.timezone)}</li>)}
            </ol>
          </div>
        )}
      </div>
      <label>
        <input
          type="checkbox"
          role="switch"
          name="enabled"
          checked={enabled}
          onChange={(e) => setEnabled((e.currentTarget as HTMLInputElement).checked)}
        />{" "}
        {t("scheduler.form.enabled")}
      </label>
      <label>
        {t("scheduler.form.action")}
        <select {...bind("type")}>
          <option value="http">{t("scheduler.form.http")}</option>
          <option value="internal">{t("scheduler.form.internal")}</option>
        </select>
      </label>
      {v.type === "http"
        ? (
          <div>
            <div class="grid">
              <label>
                {t("scheduler.form.method")}
                <select {...bind("method")}>
                  {METHODS.map((m) => <option key={m}>{m}</option>)}
                </select>
              </label>
              <label>
                {t("scheduler.form.url")}{" "}
                <input {...bind("url")} type="url" required placeholder="https://example.com/hook" />
              </label>
            </div>
            <label>
              {t("scheduler.form.headers", { editing: editing ? "yes" : "no" })}
              <input {...bind("headers")} placeholder='{"Authorization": "Bearer …"}' />
            </label>
            <label>
              {t("scheduler.form.body")} <textarea {...bind("body")} />
            </label>
          </div>
        )
        : (
          <div class="grid">
            <label>
              {t("scheduler.form.job")}
              <select {...bind("job")}>
                {jobs.map((j) => <option key={j.kind}>{j.kind}</option>)}
              </select>
            </label>
            <label>
              {t("scheduler.form.payload")} <input {...bind("payload")} placeholder="{}" />
              <details data-testid="job-payload-schema">
                <summary>
                  <small>{t("scheduler.form.payloadSchema")}</small>
                </summary>
                <pre style="white-space:pre-wrap"><code>{JSON.stringify(jobs.find((j) => j.kind === v.job)?.payloadSchema ?? {}, null, 2)}</code></pre>
              </details>
            </label>
          </div>
        )}
      <div class="grid">
        <label>
          {t("scheduler.form.overlap")}
          <select {...bind("overlap")}>
            <option value="skip">{t("scheduler.overlap.skip")}</option>
            <option value="allow">{t("scheduler.overlap.allow")}</option>
          </select>
        </label>
        <label>
          {t("scheduler.form.catchUp")}
          <select {...bind("catchUp")}>
            <option value="skip">{t("scheduler.catchUp.skip")}</option>
            <option value="once">{t("scheduler.catchUp.once")}</option>
          </select>
        </label>
      </div>
      <div class="grid">
        <label>
          {t("scheduler.form.attempts")} <input {...bind("attempts")} type="number" min="0" max="10" />
        </label>
        <label>
          {t("scheduler.form.backoff")} <input {...bind("backoffMs")} type="number" min="0" max="600000" />
        </label>
        <label>
          {t("scheduler.form.timeoutMs")} <input {...bind("timeoutMs")} type="number" min="100" max="300000" />
        </label>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <div role="group">
        <button type="submit" aria-busy={busy}>
          {editing ? t("scheduler.form.save") : t("scheduler.form.create")}
        </button>
        {editing && (
          <button type="button" class="secondary" onClick={remove} disabled={busy}>{t("scheduler.delete")}</button>
        )}
      </div>
    </form>
  );
}
