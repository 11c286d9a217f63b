/** The outcome, HTTP status and duration cells of a scheduler run row: shared by the live table and the history page. */

const OUTCOME_MARK: Record<string, string> = {
  ok: "✓",
  failed: "✗",
  timeout: "⧗",
  skipped: "↷",
  missed: "!",
  queued: "…",
  running: "…",
};

export interface RunCellsProps {
  run: { id: string; outcome: string; reason?: string; httpStatus?: number; durationMs?: number };
}

export function RunCells({ run: r }: RunCellsProps) {
  return (
    <>
      <td title={r.reason}>
        <a href={`/admin/scheduler/runs/${r.id}`}>
          {OUTCOME_MARK[r.outcome] ?? ""} {r.outcome}
        </a>
        {r.reason && (
          <>
            <br />
            <small>{r.reason.slice(0, 160)}</small>
          </>
        )}
      </td>
      <td>{r.httpStatus ?? ""}</td>
      <td>{r.durationMs !== undefined ? `${r.durationMs} ms` : ""}</td>
    </>
  );
}
