import type { AuditEntry } from "@findry/domain"
import { useState } from "react"
import { FailureNotice } from "./FailureNotice.js"
import { run } from "./FindryClient.js"
import { ScrollableTable } from "./ScrollableTable.js"
import { useLoad } from "./useLoad.js"
import type { WorkspaceContext } from "./WorkspaceContext.js"

/** The workspace's audit log (admins only), newest first, a page at a time. Remount it to start over. */
export const AuditLog = ({ context }: { readonly context: WorkspaceContext }) => {
  const [cursor, setCursor] = useState<string | undefined>(undefined)
  const [earlier, setEarlier] = useState<ReadonlyArray<AuditEntry>>([])
  const page = useLoad(
    () =>
      run(context.client.audit.list({
        path: { workspaceId: context.workspaceId },
        urlParams: { limit: 20, ...(cursor === undefined ? {} : { cursor }) }
      })),
    [cursor]
  )
  const entries = [...earlier, ...(page.value?.entries ?? [])]
  const next = page.value?.nextCursor ?? null
  return (
    <section className="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      {page.failure && <FailureNotice failure={page.failure} />}
      {entries.length === 0 ?
        <p>No entries yet.</p> :
        (
          <ScrollableTable label="Audit log entries" columns={["When (UTC)", "Who", "Action", "Details"]}>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>{entry.at.toISOString().replace("T", " ").slice(0, 19)}</td>
                <td>{entry.actorId}</td>
                <td>{entry.action}</td>
                <td>
                  {Object.entries(entry.details).map(([key, value]) => (
                    <div key={key}>
                      {key}: <code>{typeof value === "string" ? value : JSON.stringify(value)}</code>
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </ScrollableTable>
        )}
      {next !== null && (
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setEarlier(entries)
            setCursor(next)
          }}
        >
          Show older entries
        </button>
      )}
    </section>
  )
}
