import { FailureNotice } from "./FailureNotice.js"
import { run } from "./FindryClient.js"
import { ScrollableTable } from "./ScrollableTable.js"
import { useLoad } from "./useLoad.js"
import type { WorkspaceContext } from "./WorkspaceContext.js"

/** The annotations Findry pushed (or skipped, or failed to push) to Amplitude, with the reasons. */
export const AnnotationActivity = ({ context }: { readonly context: WorkspaceContext }) => {
  const activity = useLoad(
    () =>
      run(context.client.bets.annotations({ path: { workspaceId: context.workspaceId }, urlParams: { limit: 50 } })),
    [context.revision]
  )
  const rows = activity.value?.annotations ?? []
  return (
    <section className="card" aria-labelledby="activity-title">
      <h2 id="activity-title">Annotation activity</h2>
      <button type="button" className="secondary" onClick={activity.reload}>Refresh</button>
      {activity.failure && <FailureNotice failure={activity.failure} />}
      {rows.length === 0 ? <p>No annotations yet.</p> : (
        <ScrollableTable
          label="Annotations pushed to Amplitude"
          columns={["Annotation", "Kind", "Status", "Reason", "Last pushed"]}
        >
          {rows.map((row) => (
            <tr key={`${row.betId}:${row.kind}`}>
              <td>{row.label}</td>
              <td>{row.kind}</td>
              <td>
                <span className={`badge ${row.status}`}>{row.status}</span>
              </td>
              <td>{row.reason ?? ""}</td>
              <td>{row.lastPushedAt?.toISOString() ?? "—"}</td>
            </tr>
          ))}
        </ScrollableTable>
      )}
    </section>
  )
}
