// The app's one table: a header per column, each cell labelled with its column's
// name (narrow screens stack the cells under those labels), and an actions column.
import type { HTMLAttributes, ReactNode } from "react";

export interface Column<T> {
  header: string;
  cell(row: T): ReactNode;
}

export function DataTable<T>({
  rows,
  columns,
  rowKey,
  actions,
  rowProps,
  className = "table",
}: {
  rows: readonly T[];
  columns: readonly Column<T>[];
  rowKey(row: T): string;
  /** The row's buttons; no actions column without it. */
  actions?: (row: T) => ReactNode;
  /** Extra attributes of a row (test ids, data attributes). */
  rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string>;
  className?: string;
}) {
  return (
    <table className={className}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.header} scope="col">
              {c.header}
            </th>
          ))}
          {actions && (
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)} {...rowProps?.(row)}>
            {columns.map((c) => (
              <td key={c.header} data-label={c.header}>
                {c.cell(row)}
              </td>
            ))}
            {actions && <td className="actions">{actions(row)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
