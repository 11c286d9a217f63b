/**
 * The panel's table of records: a striped table on a wide screen that turns
 * into stacked cards on a phone, each cell labelled by its column
 * (`table.cards` in static/shlyuz.css reads the `data-label`s). One place
 * writes the header and the labels, so they cannot drift apart. Pure Preact:
 * server pages and islands both render it.
 */
import type { ComponentChildren } from "preact";

/** One column: its header (also each cell's card label) and what a row shows in it. */
export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  /** A class for the column's cells (`nowrap-cell`, `actions`). */
  class?: string;
  /** A row's cell tooltip (a run's whole error, where the cell shows its start). */
  title?: (row: T) => string | undefined;
}

/**
 * A table of `rows` in `columns`; a `false` column (a role that may not act)
 * is left out with its header.
 *
 * @example
 * ```tsx
 * <CardTable testId="members" rows={members} rowKey={(m) => m.userId}
 *   columns={[{ label: t("members.col.email"), cell: (m) => m.email }]} />
 * ```
 */
export function CardTable<T>(
  { columns, rows, rowKey, rowProps, testId }: {
    columns: Array<Column<T> | false>;
    rows: readonly T[];
    rowKey: (row: T) => string | number;
    /** Extra attributes of a row's `<tr>` (`data-dead-id` for tests and islands). */
    rowProps?: (row: T) => Record<`data-${string}`, string | number>;
    testId?: string;
  },
) {
  const shown = columns.filter((c): c is Column<T> => c !== false);
  return (
    <table class="striped cards" data-testid={testId}>
      <thead>
        <tr>
          {shown.map((c) => <th key={c.label}>{c.label}</th>)}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)} {...rowProps?.(row)}>
            {shown.map((c) => (
              <td key={c.label} data-label={c.label} class={c.class} title={c.title?.(row)}>{c.cell(row)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
