/**
 * Bots (health, add by token, check), groups and contacts (approve, add by
 * chat id), mailboxes (add with "Test connection", check now). Live: bot,
 * chat and mailbox events make it reload its lists.
 */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { BotItem, ChatItem, MailboxItem } from "./_notify.ts";
import { BOT_STATUS, CHAT_STATUS, MAIL_STATUS } from "./_notify.ts";

export interface NotifySetupProps {
  i18n: IslandI18n;
  bots: BotItem[];
  chats: ChatItem[];
  mailboxes: MailboxItem[];
  canWrite: boolean;
}

const LIVE = ["bot.*", "notify.chat_lost", "notify.contact_requested", "mail.*"];
const MB = 1024 * 1024;

export default function NotifySetup(props: NotifySetupProps) {
  const { t, dateTime } = islandTranslator(props.i18n);
  const [bots, setBots] = useState(props.bots);
  const [chats, setChats] = useState(props.chats);
  const [boxes, setBoxes] = useState(props.mailboxes);
  const [error, setError] = useState("");
  const [note, setNote] = useState("");

  async function reload() {
    const [b, g, c, m] = await Promise.all([
      api<{ items: BotItem[] }>("/api/v1/bots"),
      api<{ items: ChatItem[] }>("/api/v1/groups"),
      api<{ items: ChatItem[] }>("/api/v1/contacts"),
      api<{ items: MailboxItem[] }>("/api/v1/mailboxes"),
    ]);
    if (b.ok) setBots(b.data.items);
    if (g.ok && c.ok) setChats([...g.data.items, ...c.data.items]);
    if (m.ok) setBoxes(m.data.items);
  }
  useEffect(() => liveEvents(LIVE, () => void reload()), []);

  async function call(path: string, init: { method?: string; body?: unknown } = {}) {
    setError("");
    setNote("");
    const r = await api(path, init);
    if (!r.ok) setError(r.error ?? "");
    await reload();
    return r;
  }
  const botName = (id: string) => bots.find((b) => b.id === id)?.username ?? id;
  const form = (e: Event) => {
    e.preventDefault();
    return new FormData(e.currentTarget as HTMLFormElement);
  };

  return (
    <div>
      {error && <p role="alert" class="error" data-testid="notify-error">{error}</p>}
      {note && <p role="status">{note}</p>}
      <h2 id="bots">{t("notify.bots")}</h2>
      {bots.length === 0 && <p>{t("notify.bots.none")}</p>}
      {bots.map((b) => (
        <article key={b.id} data-testid="bot">
          <strong>@{b.username}</strong> · {b.name} · <mark>{t(BOT_STATUS[b.status])}</mark> ·{" "}
          {t(b.mode === "webhook" ? "notify.bots.mode.webhook" : "notify.bots.mode.polling")}
          {b.lastError && (
            <p>
              <small>{b.lastErrorAt ? `${dateTime(b.lastErrorAt)}: ` : ""}{b.lastError}</small>
            </p>
          )}
          {props.canWrite && (
            <Actions
              call={call}
              actions={[
                { label: t("notify.bots.check"), path: `/api/v1/bots/${b.id}/check`, method: "POST" },
                { label: t("notify.bots.remove"), path: `/api/v1/bots/${b.id}`, method: "DELETE" },
              ]}
            />
          )}
        </article>
      ))}
      {props.canWrite && (
        <form
          onSubmit={async (e) => {
            const f = form(e);
            const r = await call("/api/v1/bots", { body: { token: String(f.get("token") ?? "") } });
            if (r.ok) (e.target as HTMLFormElement).reset();
          }}
        >
          <label>
            {t("notify.bots.token")}
            <input name="token" required autocomplete="off" placeholder="123456789:AA…" />
          </label>
          <button type="submit">{t("notify.bots.add")}</button>
        </form>
      )}

      <h2 id="chats">{t("notify.chats")}</h2>
      {chats.length === 0 && <p>{t("notify.chats.none")}</p>}
      {chats.map((c) => (
        <article key={c.id} data-testid="chat">
          <strong>{c.title}</strong> · {t(c.kind === "group" ? "notify.chats.group" : "notify.chats.contact")} ·{" "}
          <mark>{t(CHAT_STATUS[c.status])}</mark>
          <br />
          <small>
            {c.tgChatId} · {t("notify.chats.bots", { names: c.botIds.map(botName).join(", ") || "—" })}
            {c.statusReason ? ` · ${c.statusReason}` : ""}
          </small>
          {props.canWrite && (
            <Actions
              call={call}
              actions={[
                ...(c.status !== "active"
                  ? [{
                    label: t("notify.chats.approve"),
                    path: chatPath(c),
                    method: "PATCH",
                    body: { status: "active" },
                  }]
                  : []),
                { label: t("notify.chats.remove"), path: chatPath(c), method: "DELETE", secondary: true },
              ]}
            />
          )}
        </article>
      ))}
      {props.canWrite && bots.length > 0 && (
        <details>
          <summary>{t("notify.chats.byHand")}</summary>
          <form
            onSubmit={async (e) => {
              const f = form(e);
              await call("/api/v1/groups", {
                body: { tgChatId: Number(f.get("tgChatId")), botId: String(f.get("botId")) },
              });
            }}
          >
            <label>
              {t("notify.chats.tgId")}
              <input name="tgChatId" required inputMode="numeric" placeholder="-1001234567890" />
            </label>
            <label>
              {t("notify.chats.bot")}
              <select name="botId">{bots.map((b) => <option key={b.id} value={b.id}>@{b.username}</option>)}</select>
            </label>
            <button type="submit">{t("notify.add")}</button>
          </form>
        </details>
      )}

      <h2 id="mailboxes">{t("notify.mail")}</h2>
      {boxes.length === 0 && <p>{t("notify.mail.none")}</p>}
      {boxes.map((m) => (
        <article key={m.id} data-testid="mailbox">
          <strong>{m.name}</strong> · {m.protocol.toUpperCase()} {m.user}@{m.host}:{m.port} ·{" "}
          <mark>{t(MAIL_STATUS[m.status])}</mark> · {t("notify.mail.received", { count: m.received })}
          {(m.oversized ?? 0) > 0 && (
            <>
              {" · "}
              <mark data-testid="mailbox-oversized">{t("notify.mail.oversized", { count: m.oversized ?? 0 })}</mark>
            </>
          )}
          {m.forwardAttachments && (
            <>
              {" · "}
              {t("notify.mail.forwarding", { size: Math.round((m.attachmentMaxBytes ?? 5 * MB) / MB * 10) / 10 })}
            </>
          )}
          {m.lastError && (
            <p>
              <small>{m.lastError}</small>
            </p>
          )}
          {props.canWrite && (
            <Actions
              call={call}
              actions={[
                { label: t("notify.mail.pollNow"), path: `/api/v1/mailboxes/${m.id}/poll`, method: "POST" },
                { label: t("notify.delete"), path: `/api/v1/mailboxes/${m.id}`, method: "DELETE" },
              ]}
            />
          )}
        </article>
      ))}
      {props.canWrite && <MailboxForm t={t} call={call} setNote={setNote} setError={setError} />}
    </div>
  );
}

const chatPath = (c: ChatItem) => `/api/v1/${c.kind === "group" ? "groups" : "contacts"}/${c.id}`;

interface Action {
  label: string;
  path: string;
  method: string;
  body?: unknown;
  /** Drawn as a quiet outline button (the default unless the action is the one to take). */
  secondary?: boolean;
}

/** A record's buttons: each calls the API and the lists reload. */
function Actions(
  { actions, call }: {
    actions: Action[];
    call: (path: string, init?: { method?: string; body?: unknown }) => Promise<unknown>;
  },
) {
  const quiet = (a: Action) => a.secondary ?? a.method !== "PATCH";
  return (
    <div role="group">
      {actions.map((a) => (
        <button
          key={a.path + a.method}
          type="button"
          class={quiet(a) ? "secondary outline" : undefined}
          onClick={() => call(a.path, { method: a.method, body: a.body })}
        >
          {a.label}
        </button>
      ))}
    </div>
  );
}

function MailboxForm(
  { t, call, setNote, setError }: {
    t: ReturnType<typeof islandTranslator>["t"];
    call: (path: string, init?: { method?: string; body?: unknown }) => Promise<{ ok: boolean }>;
    setNote: (s: string) => void;
    setError: (s: string) => void;
  },
) {
  const [protocol, setProtocol] = useState("imap");
  const read = (form: HTMLFormElement) => {
    const f = new FormData(form);
    const s = (k: string) => String(f.get(k) ?? "");
    return {
      name: s("name"),
      protocol: s("protocol"),
      host: s("host"),
      port: Number(s("port")),
      security: s("security"),
      user: s("user"),
      password: s("password"),
      folder: s("folder") || "INBOX",
      pollSeconds: Number(s("pollSeconds") || 60),
      forwardAttachments: f.get("forwardAttachments") === "on",
      ...(s("attachmentMb") ? { attachmentMaxBytes: Math.round(Number(s("attachmentMb")) * MB) } : {}),
    };
  };
  return (
    <details>
      <summary>{t("notify.mail.add")}</summary>
      <form
        data-testid="mailbox-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget as HTMLFormElement;
          const r = await call("/api/v1/mailboxes", { body: read(form) });
          if (r.ok) form.reset();
        }}
      >
        <label>
          {t("notify.mail.name")}
          <input name="name" required />
        </label>
        <div class="grid">
          <label>
            {t("notify.mail.protocol")}
            <select
              name="protocol"
              value={protocol}
              onChange={(e) => setProtocol((e.target as HTMLSelectElement).value)}
            >
              <option value="imap">IMAP</option>
              <option value="pop3">POP3</option>
            </select>
          </label>
          <label>
            {t("notify.mail.security")}
            <select name="security">
              <option value="tls">TLS</option>
              {protocol === "imap" && <option value="starttls">STARTTLS</option>}
              <option value="none">—</option>
            </select>
          </label>
        </div>
        <div class="grid">
          <label>
            {t("notify.mail.host")}
            <input name="host" required placeholder="imap.example.ru" />
          </label>
          <label>
            {t("notify.mail.port")}
            <input name="port" required inputMode="numeric" placeholder={protocol === "imap" ? "993" : "995"} />
          </label>
        </div>
        <div class="grid">
          <label>
            {t("notify.mail.user")}
            <input name="user" required autocomplete="off" />
          </label>
          <label>
            {t("notify.mail.password")}
            <input name="password" type="password" required autocomplete="new-password" />
          </label>
        </div>
        <div class="grid">
          <label>
            {t("notify.mail.folder")}
            <input name="folder" placeholder="INBOX" />
          </label>
          <label>
            {t("notify.mail.poll")}
            <input name="pollSeconds" inputMode="numeric" placeholder="60" />
          </label>
        </div>
        <div class="grid">
          <label>
            <input name="forwardAttachments" type="checkbox" role="switch" />
            {t("notify.mail.forward")}
          </label>
          <label>
            {t("notify.mail.forwardCap")}
            <input name="attachmentMb" inputMode="decimal" placeholder="5" />
          </label>
        </div>
        <div role="group">
          <button
            type="button"
            class="secondary"
            onClick={async (e) => {
              const form = (e.currentTarget as HTMLButtonElement).form!;
              setNote("");
              setError("");
              const r = await api<{ ok: boolean; error?: string }>("/api/v1/mailboxes/test", { body: read(form) });
              if (!r.ok) setError(r.error ?? "");
              else if (r.data.ok) setNote(t("notify.mail.testOk"));
              else setError(r.data.error ?? "");
            }}
          >
            {t("notify.mail.test")}
          </button>
          <button type="submit">{t("notify.add")}</button>
        </div>
      </form>
    </details>
  );
}
