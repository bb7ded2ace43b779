import { useEffect, useRef } from "react"

/** "Disconnect cleanly": asks first, and says what survives and what stops. */
export const DisconnectDialog = ({ onCancel, onConfirm, open }: {
  readonly open: boolean
  readonly onCancel: () => void
  readonly onConfirm: () => void
}) => {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    if (dialog === null) return
    if (open && !dialog.open) dialog.showModal()
    if (!open && dialog.open) dialog.close()
  }, [open])

  return (
    <dialog ref={ref} aria-labelledby="disconnect-title" aria-describedby="disconnect-summary" onCancel={onCancel}>
      <h2 id="disconnect-title">Disconnect Amplitude?</h2>
      <p id="disconnect-summary">
        Findry zeros out the encrypted keys (the values are gone, not just hidden) and marks the connection
        disconnected.
      </p>
      <h3>What survives disconnect</h3>
      <ul>
        <li>
          Annotations already pushed to Amplitude — Findry never deletes external state on its own state changes. They
          stay as historical context on your Amplitude charts.
        </li>
        <li>
          Mapping configurations — if you reconnect the same Amplitude project, mappings resume automatically; if you
          reconnect a different project, outcome runs report "event not recognized" warnings until you update them.
        </li>
        <li>Experiment links — tests linked to Amplitude experiments keep the link.</li>
      </ul>
      <h3>What stops working</h3>
      <ul>
        <li>outcome metric pulls,</li>
        <li>annotation push,</li>
        <li>cohort and experiment pickers,</li>
        <li>nightly experiment sync.</li>
      </ul>
      <p>All of them return empty or do nothing until you reconnect; nothing crashes.</p>
      <div className="actions">
        <button type="button" className="secondary" onClick={onCancel} autoFocus>Cancel</button>
        <button type="button" className="danger" onClick={onConfirm}>Disconnect</button>
      </div>
    </dialog>
  )
}
