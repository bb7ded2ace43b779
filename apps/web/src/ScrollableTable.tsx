import type { ReactNode } from "react"

/** A table that scrolls sideways on narrow screens; the scroll area is focusable so keyboards can scroll it. */
export const ScrollableTable = ({ children, columns, label }: {
  readonly label: string
  readonly columns: ReadonlyArray<string>
  readonly children: ReactNode
}) => (
  <div className="scroll" role="region" aria-label={label} tabIndex={0}>
    <table>
      <thead>
        <tr>{columns.map((column) => <th key={column} scope="col">{column}</th>)}</tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  </div>
)
