/** Live load per Production section: open tasks and who is away; refetched when 1C tasks arrive. */
import { useEffect, useState } from "preact/hooks";
import { api, liveEvents } from "./_lib.ts";
import { type IslandI18n, islandTranslator } from "./_i18n.ts";
import type { MessageKey } from "../lib/i18n/messages/mod.ts";

export interface BoardPerson {
  id: number;
  name: string;
  openTasks: number;
  availability: "today" | "next" | "absent";
  why: string;
}

export interface BoardSection {
  id: number;
  name: string;
  people: BoardPerson[];
}

export interface OnecLoadBoardProps {
  initial: BoardSection[] | null;
  error?: string;
  i18n: IslandI18n;
}

const BADGE: Record<BoardPerson["availability"], MessageKey> = {
  today: "onec.board.today",
  next: "onec.board.next",
  absent: "onec.board.absent",
};

export default function OnecLoadBoard({ initial, error: initialError, i18n }: OnecLoadBoardProps) {
  const { t } = islandTranslator(i18n);
  const [sections, setSections] = useState<BoardSection[] | null>(initial);
  const [error, setError] = useState<string | undefined>(initialError);
  const [busy, setBusy] = useState(false);
  const [ready, setReady] = useState(false);

  async function reload() {
    setBusy(true);
    const res = await api<{ sections: BoardSection[] }>("/api/v1/onec/load");
    setBusy(false);
    if (res.ok) {
      setSections(res.data.sections);
      setError(undefined);
    } else setError(res.error);
  }

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Published once per 1C request, after its tasks are in Bitrix24.
    const stop = liveEvents(["onec.request.logged"], () => {
      clearTimeout(timer);
      timer = setTimeout(reload, 1500); // one reload for a burst of requests
    }, (open) => open && setReady(true));
    return () => {
      clearTimeout(timer);
      stop();
    };
  }, []);

  return (
    <section data-testid="load-board" data-ready={ready ? "" : undefined}>
      <button type="button" class="secondary outline" aria-busy={busy} onClick={reload}>
        {t("onec.board.reload")}
      </button>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="load-board">
        {(sections ?? []).map((s) => (
          <article key={s.id} data-section={s.name}>
            <header>
              <strong>{s.name}</strong>
              <small>
                {t("onec.board.summary", {
                  open: s.people.reduce((n, p) => n + p.openTasks, 0),
                  absent: s.people.filter((p) => p.availability === "absent").length,
                })}
              </small>
            </header>
            <table>
              <tbody>
                {s.people.map((p) => (
                  <tr key={p.id} title={p.why} data-person={p.name}>
                    <td>{p.name}</td>
                    <td data-testid="open-tasks">{p.openTasks}</td>
                    <td>
                      <small>
                        {p.availability === "today" ? t(BADGE.today) : <mark>{t(BADGE[p.availability])}</mark>}
                      </small>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </article>
        ))}
      </div>
    </section>
  );
}
