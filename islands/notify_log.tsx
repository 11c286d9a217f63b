/**
 * The delivery log: newest first, live (a sent or failed notification
 * reloads it), searchable by target, rule, text and error, with "Send again".
 * Also the "send a message now" form.
 */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { ChatItem, DeliveryItem } from "./_notify.ts";
import { DELIVERY_STATUS } from "./_notify.ts";

export interface NotifyLogProps {
  i18n: IslandI18n;
  deliveries: DeliveryItem[];
  chats: ChatItem[];
  canSend: boolean;
}

export default function NotifyLog(props: NotifyLogProps) {
  const { t, dateTime } = islandTranslator(props.i18n);
  const [items, setItems] = useState(props.deliveries);
  const [q, setQ] = useState("");
  const [status, setStatus] = useState("");
  const [live, setLive] = useState(false);
  const [error, setError] = useState("");

  async function reload(query = q, st = status) {
    const qs = new URLSearchParams({ limit: "100", ...(query ? { q: query } : {}), ...(st ? { status: st } : {}) });
    const r = await api<{ items: DeliveryItem[] }>(`/api/v1/deliveries?${qs}`);
    if (r.ok) setItems(r.data.items);
  }
  useEffect(() => liveEvents(["notify.sent", "notify.failed", "mail.received"], () => void reload(), setLive), [
    q,
    status,
  ]);

  return (
    <div>
      <p>
        <small data-testid="log-state" data-state={live ? "live" : "connecting"}>
          {t(live ? "common.live" : "common.connecting")}
        </small>
      </p>
      {props.canSend && props.chats.length > 0 && (
        <details>
          <summary>{t("notify.send")}</summary>
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              const f = new FormData(e.currentTarget as HTMLFormElement);
              const r = await api("/api/v1/notifications", {
                body: { chatIds: f.getAll("chatId").map(String), text: String(f.get("text") ?? "") },
              });
              setError(r.ok ? "" : r.error ?? "");
              await reload();
            }}
          >
            {props.chats.filter((c) => c.status === "active").map((c) => (
              <label key={c.id}>
                <input type="checkbox" name="chatId" value={c.id} /> {c.title}
              </label>
            ))}
            <label>
              {t("notify.send.text")}
              <textarea name="text" rows={3} required />
            </label>
            <button type="submit">{t("notify.send.go")}</button>
          </form>
        </details>
      )}
      {error && <p role="alert" class="error">{error}</p>}
      <form
        role="search"
        class="filter"
        onSubmit={(e) => {
          e.preventDefault();
          reload();
        }}
      >
        <input
          name="q"
          aria-label={t("notify.log.search")}
          placeholder={t("notify.log.search")}
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
        <select
          name="status"
          value={status}
          onChange={(e) => {
            const st = (e.target as HTMLSelectElement).value;
            setStatus(st);
            reload(q, st);
          }}
        >
          <option value="">{t("notify.log.all")}</option>
          {(Object.keys(DELIVERY_STATUS) as Array<keyof typeof DELIVERY_STATUS>).map((s) => (
            <option key={s} value={s}>{t(DELIVERY_STATUS[s])}</option>
          ))}
        </select>
        <button type="submit">{t("common.filter")}</button>
      </form>
      {items.length === 0 && <p>{t("notify.log.none")}</p>}
      {items.map((d) => (
        <article key={d.id} data-testid="delivery">
          <small>{dateTime(d.createdAt)}</small> · <strong>{d.targetName}</strong> ·{" "}
          <mark>{t(DELIVERY_STATUS[d.status])}</mark> · {d.ruleName ?? t("notify.log.manual")}
          {d.error && (
            <p>
              <small>{d.error}</small>
            </p>
          )}
          <p class="pre">{d.text.slice(0, 500)}</p>
          {props.canSend && d.status !== "queued" && (
            <button
              type="button"
              class="secondary outline"
              onClick={async () => {
                await api(`/api/v1/deliveries/${d.id}/resend`, { method: "POST" });
                await reload();
              }}
            >
              {t("notify.log.resend")}
            </button>
          )}
        </article>
      ))}
    </div>
  );
}
