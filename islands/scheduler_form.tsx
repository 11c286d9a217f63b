/**
 * The schedule form: "New schedule" (POST) or, given `schedule`, editing one
 * (PUT with every field, so nothing is lost; secret headers come prefilled as
 * •••• and sending •••• back keeps the stored value). Shows the API's 422 messages.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./_lib.ts";

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

export default function SchedulerForm({ defaultTimezone, jobs, schedule }: SchedulerFormProps) {
  // Controlled fields: a re-render (busy, error) must not reset what the user typed.
  const [v, setV] = useState(() => initialValues(schedule, jobs));
  const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [ready, setReady] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const editing = schedule !== undefined;

  useEffect(() => {
    setReady(true);
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
      setError("Headers and payload must be JSON objects");
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
    if (!res.ok) setError(res.error ?? "failed");
    else location.reload();
  }

  async function remove() {
    if (!schedule || !confirm(`Delete the schedule "${schedule.name}"? Its run history stays until it expires.`)) {
      return;
    }
    setBusy(true);
    const res = await api(`/api/v1/schedules/${schedule.id}`, { method: "DELETE" });
    setBusy(false);
    if (!res.ok) setError(`Cannot delete: ${res.error}`);
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
          Name <input {...bind("name")} required />
        </label>
        <label>
          Cron (5 fields, or 6 with seconds) <input {...bind("cron")} required placeholder="0 9 * * 1-5" />
        </label>
        <label>
          Time zone <input {...bind("timezone")} placeholder={defaultTimezone} />
        </label>
      </div>
      <label>
        <input
          type="checkbox"
          role="switch"
          name="enabled"
          checked={enabled}
          onChange={(e) => setEnabled((e.currentTarget as HTMLInputElement).checked)}
        />{" "}
        Enabled
      </label>
      <label>
        Action
        <select {...bind("type")}>
          <option value="http">HTTP request</option>
          <option value="internal">Shlyuz job</option>
        </select>
      </label>
      {v.type === "http"
        ? (
          <div>
            <div class="grid">
              <label>
                Method
                <select {...bind("method")}>
                  {METHODS.map((m) => <option key={m}>{m}</option>)}
                </select>
              </label>
              <label>
                URL <input {...bind("url")} type="url" required placeholder="https://example.com/hook" />
              </label>
            </div>
            <label>
              Headers (JSON; Authorization and *token*/*key* values are stored encrypted
              {editing && <>, •••• keeps a stored secret</>})
              <input {...bind("headers")} placeholder='{"Authorization": "Bearer …"}' />
            </label>
            <label>
              Body <textarea {...bind("body")} />
            </label>
          </div>
        )
        : (
          <div class="grid">
            <label>
              Job
              <select {...bind("job")}>
                {jobs.map((j) => <option key={j.kind}>{j.kind}</option>)}
              </select>
            </label>
            <label>
              Payload (JSON) <input {...bind("payload")} placeholder="{}" />
              <details data-testid="job-payload-schema">
                <summary>
                  <small>Payload schema</small>
                </summary>
                <pre style="white-space:pre-wrap"><code>{JSON.stringify(jobs.find((j) => j.kind === v.job)?.payloadSchema ?? {}, null, 2)}</code></pre>
              </details>
            </label>
          </div>
        )}
      <div class="grid">
        <label>
          Overlap
          <select {...bind("overlap")}>
            <option value="skip">skip while running</option>
            <option value="allow">allow</option>
          </select>
        </label>
        <label>
          After downtime
          <select {...bind("catchUp")}>
            <option value="skip">skip missed</option>
            <option value="once">run once to catch up</option>
          </select>
        </label>
      </div>
      <div class="grid">
        <label>
          Retries <input {...bind("attempts")} type="number" min="0" max="10" />
        </label>
        <label>
          First retry wait, ms <input {...bind("backoffMs")} type="number" min="0" max="600000" />
        </label>
        <label>
          Timeout, ms <input {...bind("timeoutMs")} type="number" min="100" max="300000" />
        </label>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <div role="group">
        <button type="submit" aria-busy={busy}>{editing ? "Save changes" : "Create schedule"}</button>
        {editing && <button type="button" class="secondary" onClick={remove} disabled={busy}>Delete</button>}
      </div>
    </form>
  );
}
