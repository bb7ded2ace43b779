import { type AmplitudeConnection, ConnectAmplitude, regionLabel } from "@findry/domain"
import { Effect, Redacted } from "effect"
import { useEffect, useId, useRef, useState } from "react"
import { DisconnectDialog } from "./DisconnectDialog.js"
import { FailureNotice } from "./FailureNotice.js"
import { type Failure, run } from "./FindryClient.js"
import { useLoad } from "./useLoad.js"
import type { WorkspaceContext } from "./WorkspaceContext.js"

const ADMIN_ONLY = "Only a workspace admin can connect, replace keys, toggle annotations or disconnect. " +
  "You are a member of this workspace."

const formatDate = (date: Date | null) =>
  date === null ? "—" : `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`

interface ConnectionProps {
  readonly context: WorkspaceContext
  readonly connection: AmplitudeConnection
  readonly onChange: (connection: AmplitudeConnection) => void
}

/** The connect form: region dropdown and two write-only key fields (never prefilled). */
const ConnectForm = ({ context, initialRegion, onConnected, onCancel }: {
  readonly context: WorkspaceContext
  readonly initialRegion: "us" | "eu"
  readonly onConnected: (connection: AmplitudeConnection) => void
  readonly onCancel: (() => void) | undefined
}) => {
  const [region, setRegion] = useState(initialRegion)
  const [failure, setFailure] = useState<Failure | null>(null)
  const [busy, setBusy] = useState(false)
  const saveRef = useRef<HTMLButtonElement>(null)
  const id = useId()

  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const displayName = String(form.get("displayName") ?? "").trim()
    setBusy(true)
    setFailure(null)
    const answer = await run(Effect.suspend(() =>
      context.client.amplitudeConnection.connect({
        path: { workspaceId: context.workspaceId },
        payload: new ConnectAmplitude({
          region,
          apiKey: Redacted.make(String(form.get("apiKey") ?? "")),
          secretKey: Redacted.make(String(form.get("secretKey") ?? "")),
          ...(displayName === "" ? {} : { displayName })
        })
      })
    ))
    setBusy(false)
    if (answer._tag === "Left") return setFailure(answer.left)
    onConnected(answer.right)
  }

  return (
    <form className="connect" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Connect Amplitude</h3>
      <label htmlFor={`${id}-region`}>Region</label>
      <select
        id={`${id}-region`}
        autoFocus
        value={region}
        onChange={(event) => setRegion(event.target.value === "eu" ? "eu" : "us")}
      >
        <option value="us">US Cloud</option>
        <option value="eu">EU Cloud</option>
      </select>
      <label htmlFor={`${id}-api`}>API Key</label>
      <input id={`${id}-api`} name="apiKey" type="password" required autoComplete="off" spellCheck={false} />
      <label htmlFor={`${id}-secret`}>Secret Key</label>
      <input id={`${id}-secret`} name="secretKey" type="password" required autoComplete="off" spellCheck={false} />
      <label htmlFor={`${id}-name`}>Display name (optional)</label>
      <input id={`${id}-name`} name="displayName" maxLength={120} autoComplete="off" />
      <p className="help">
        Both keys are write-only: after saving you see a redacted prefix, never the full value.
      </p>
      <div className="actions">
        <button type="submit" ref={saveRef} disabled={busy}>{busy ? "Validating…" : "Save"}</button>
        {onCancel && <button type="button" className="secondary" onClick={onCancel}>Cancel</button>}
      </div>
      {failure && (
        <FailureNotice
          failure={failure}
          onSwitchRegion={(detected) => {
            setRegion(detected)
            saveRef.current?.focus()
          }}
        />
      )}
    </form>
  )
}

const ManagementKey = ({ context, connection, onChange }: ConnectionProps) => {
  const [failure, setFailure] = useState<Failure | null>(null)
  const [busy, setBusy] = useState(false)
  const id = useId()
  const path = { workspaceId: context.workspaceId }

  const save = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = event.currentTarget
    const managementKey = Redacted.make(String(new FormData(form).get("managementKey") ?? ""))
    setBusy(true)
    setFailure(null)
    const answer = await run(context.client.amplitudeConnection.setManagementKey({ path, payload: { managementKey } }))
    setBusy(false)
    if (answer._tag === "Left") return setFailure(answer.left)
    form.reset()
    onChange(answer.right)
  }
  const remove = async () => {
    setFailure(null)
    const answer = await run(context.client.amplitudeConnection.removeManagementKey({ path }))
    if (answer._tag === "Left") return setFailure(answer.left)
    onChange(answer.right)
  }

  return (
    <form className="management-key" onSubmit={save}>
      <h4>Experiment picker</h4>
      <p className="help">Needed for the Amplitude Experiment picker on tests.</p>
      <label htmlFor={`${id}-key`}>
        {connection.managementKeyPrefix === null ? "Management API key" : "Replace the Management API key"}
      </label>
      <input
        id={`${id}-key`}
        name="managementKey"
        type="password"
        required
        autoComplete="off"
        disabled={!context.isAdmin}
        aria-describedby={context.isAdmin ? undefined : "admin-only-reason"}
      />
      <div className="actions">
        <button type="submit" disabled={!context.isAdmin || busy}>Save management key</button>
        {connection.managementKeyPrefix !== null && (
          <button type="button" className="secondary" disabled={!context.isAdmin} onClick={remove}>
            Remove management key
          </button>
        )}
      </div>
      {failure && <FailureNotice failure={failure} />}
    </form>
  )
}

const Connected = ({ context, connection, onChange }: ConnectionProps) => {
  const [replacing, setReplacing] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [failure, setFailure] = useState<Failure | null>(null)
  const [toggleStatus, setToggleStatus] = useState("")
  const path = { workspaceId: context.workspaceId }
  const readOnly = context.isAdmin ? {} : { "aria-describedby": "admin-only-reason" }

  const toggle = async (annotationsEnabled: boolean) => {
    setFailure(null)
    setToggleStatus("Saving…")
    const answer = await run(context.client.amplitudeConnection.update({ path, payload: { annotationsEnabled } }))
    if (answer._tag === "Left") {
      setToggleStatus("")
      return setFailure(answer.left)
    }
    setToggleStatus(annotationsEnabled ? "Annotation push is on." : "Annotation push is off.")
    onChange(answer.right)
  }
  const disconnect = async () => {
    setFailure(null)
    const answer = await run(context.client.amplitudeConnection.disconnect({ path }))
    setConfirming(false)
    if (answer._tag === "Left") return setFailure(answer.left)
    onChange(answer.right)
  }

  const push = connection.annotationPush
  return (
    <>
      <p className="status connected">
        <span className="badge">connected</span> <strong data-testid="display-name">{connection.displayName}</strong>
      </p>
      <dl className="facts">
        <dt>Region</dt>
        <dd>{connection.region === null ? "—" : `${regionLabel(connection.region)} Cloud`}</dd>
        <dt>API Key</dt>
        <dd>
          <code>{connection.apiKeyPrefix}</code>
        </dd>
        <dt>Secret Key</dt>
        <dd>
          <code>{connection.secretKeyPrefix}</code>
        </dd>
        <dt>Management API key</dt>
        <dd>{connection.managementKeyPrefix === null ? "none" : <code>{connection.managementKeyPrefix}</code>}</dd>
        <dt>Connected since</dt>
        <dd>{formatDate(connection.connectedAt)}</dd>
        <dt>Taxonomy API</dt>
        <dd>{connection.capabilities.taxonomy ? "available" : "not on this Amplitude plan (event list used)"}</dd>
        <dt>Experiments</dt>
        <dd>{connection.capabilities.experiments ? "available" : "add a Management API key"}</dd>
        <dt>Annotation push</dt>
        <dd data-testid="push-health">
          {push.status === "ok"
            ? `healthy${push.lastPushedAt === null ? "" : `, last push ${formatDate(push.lastPushedAt)}`}`
            : `failing since ${formatDate(push.failedAt)}: ${push.reason ?? "unknown reason"}`}
        </dd>
      </dl>

      <div className="toggle">
        <input
          id="annotations-toggle"
          type="checkbox"
          role="switch"
          checked={connection.annotationsEnabled}
          disabled={!context.isAdmin}
          onChange={(event) => toggle(event.target.checked)}
          {...readOnly}
        />
        <label htmlFor="annotations-toggle">Push annotations to Amplitude</label>
        <span role="status" className="help">{toggleStatus}</span>
      </div>

      <div className="actions">
        <button type="button" disabled={!context.isAdmin} onClick={() => setReplacing(true)} {...readOnly}>
          Replace keys
        </button>
        <button
          type="button"
          className="danger"
          disabled={!context.isAdmin}
          onClick={() => setConfirming(true)}
          {...readOnly}
        >
          Disconnect
        </button>
      </div>
      {failure && <FailureNotice failure={failure} />}
      {replacing && (
        <ConnectForm
          context={context}
          initialRegion={connection.region ?? "us"}
          onCancel={() => setReplacing(false)}
          onConnected={(next) => {
            setReplacing(false)
            onChange(next)
          }}
        />
      )}
      <ManagementKey context={context} connection={connection} onChange={onChange} />
      <DisconnectDialog open={confirming} onCancel={() => setConfirming(false)} onConfirm={disconnect} />
    </>
  )
}

/** Settings → Integrations → the Amplitude tile. */
export const AmplitudeTile = ({ context }: { readonly context: WorkspaceContext }) => {
  const { failure, setValue, value: connection } = useLoad(
    () => context.client.amplitudeConnection.get({ path: { workspaceId: context.workspaceId } }).pipe(run),
    [context.client, context.workspaceId]
  )
  const [connecting, setConnecting] = useState(false)
  const headingRef = useRef<HTMLHeadingElement>(null)
  const changed = (next: AmplitudeConnection) => {
    setValue(next)
    setConnecting(false)
    context.changed()
  }
  // After connecting or disconnecting, focus returns to the tile's heading (not on the first load).
  const status = connection?.status
  const shownStatus = useRef(status)
  useEffect(() => {
    if (shownStatus.current !== undefined && status !== shownStatus.current) headingRef.current?.focus()
    shownStatus.current = status
  }, [status])

  return (
    <section className="tile" aria-labelledby="amplitude-title">
      <h2 id="amplitude-title" tabIndex={-1} ref={headingRef}>Amplitude</h2>
      {!context.isAdmin && <p id="admin-only-reason" className="notice">{ADMIN_ONLY}</p>}
      {failure && <FailureNotice failure={failure} />}
      {connection === null
        ? <p>Loading…</p>
        : connection.status === "connected"
        ? <Connected context={context} connection={connection} onChange={changed} />
        : (
          <>
            <p className="status">
              <span className="badge off">not connected</span>
              {connection.status === "disconnected" && ` (disconnected ${formatDate(connection.disconnectedAt)})`}
            </p>
            <p>
              Connect one Amplitude project to push chart annotations, pick cohorts and experiments, and map metrics to
              Amplitude data.
            </p>
            {connecting
              ? (
                <ConnectForm
                  context={context}
                  initialRegion="us"
                  onCancel={() => setConnecting(false)}
                  onConnected={changed}
                />
              )
              : (
                <button
                  type="button"
                  disabled={!context.isAdmin}
                  onClick={() => setConnecting(true)}
                  {...(context.isAdmin ? {} : { "aria-describedby": "admin-only-reason" })}
                >
                  Connect
                </button>
              )}
          </>
        )}
    </section>
  )
}
