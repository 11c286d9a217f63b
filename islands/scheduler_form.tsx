/** The "New schedule" form: builds the nested JSON the API expects and shows its 422 messages. */
import { useState } from "preact/hooks";
import { api } from "./_lib.ts";

export interface SchedulerFormProps {
  defaultTimezone: string;
  /** Job kinds an internal action may enqueue. */
  jobs: string[];
}

export default function SchedulerForm({ defaultTimezone, jobs }: SchedulerFormProps) {
  const [type, setType] = useState<"http" | "internal">("http");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(f.get(k) ?? "").trim();
    let action: Record<string, unknown>;
    try {
      action = type === "http"
        ? {
          type,
          method: text("method"),
          url: text("url"),
          headers: text("headers") ? JSON.parse(text("headers")) : {},
          ...(text("body") ? { body: text("body") } : {}),
        }
        : { type, job: text("job"), payload: text("payload") ? JSON.parse(text("payload")) : {} };
    } catch {
      setError("Headers and payload must be JSON objects");
      return;
    }
    setBusy(true);
    const res = await api("/api/v1/schedules", {
      method: "POST",
      body: {
        name: text("name"),
        cron: text("cron"),
        timezone: text("timezone") || undefined,
        overlap: text("overlap"),
        catchUp: text("catchUp"),
        retry: { attempts: Number(text("attempts") || 0), backoffMs: 1000 },
        timeoutMs: Number(text("timeoutMs") || 30000),
        action,
      },
    });
    setBusy(false);
    if (!res.ok) setError(res.error ?? "failed");
    else location.reload();
  }

  return (
    <form onSubmit={submit}>
      <div class="grid">
        <label>
          Name <input name="name" required />
        </label>
        <label>
          Cron (5 fields, or 6 with seconds) <input name="cron" required placeholder="0 9 * * 1-5" />
        </label>
        <label>
          Time zone <input name="timezone" placeholder={defaultTimezone} />
        </label>
      </div>
      <label>
        Action
        <select name="type" onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value as "http")}>
          <option value="http">HTTP request</option>
          <option value="internal">Shlyuz job</option>
        </select>
      </label>
      {type === "http"
        ? (
          <div>
            <div class="grid">
              <label>
                Method
                <select name="method">
                  {["POST", "GET", "PUT", "PATCH", "DELETE"].map((m) => <option key={m}>{m}</option>)}
                </select>
              </label>
              <label>
                URL <input name="url" type="url" required placeholder="https://example.com/hook" />
              </label>
            </div>
            <label>
              Headers (JSON; Authorization and *token*/*key* values are stored encrypted)
              <input name="headers" placeholder='{"Authorization": "Bearer …"}' />
            </label>
            <label>
              Body <textarea name="body" />
            </label>
          </div>
        )
        : (
          <div class="grid">
            <label>
              Job
              <select name="job">{jobs.map((j) => <option key={j}>{j}</option>)}</select>
            </label>
            <label>
              Payload (JSON) <input name="payload" placeholder="{}" />
            </label>
          </div>
        )}
      <div class="grid">
        <label>
          Overlap
          <select name="overlap">
            <option value="skip">skip while running</option>
            <option value="allow">allow</option>
          </select>
        </label>
        <label>
          After downtime
          <select name="catchUp">
            <option value="skip">skip missed</option>
            <option value="once">run once to catch up</option>
          </select>
        </label>
        <label>
          Retries <input name="attempts" type="number" min="0" max="10" value="0" />
        </label>
        <label>
          Timeout, ms <input name="timeoutMs" type="number" min="100" max="300000" value="30000" />
        </label>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" aria-busy={busy}>Create schedule</button>
    </form>
  );
}
