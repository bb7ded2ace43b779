import type { Workspace } from "@findry/domain"
import { useCallback, useEffect, useMemo, useState } from "react"
import { AmplitudeTile } from "./AmplitudeTile.js"
import { AnnotationActivity } from "./AnnotationActivity.js"
import { AuditLog } from "./AuditLog.js"
import { FailureNotice } from "./FailureNotice.js"
import { clientFor, type Failure, run } from "./FindryClient.js"
import { MetricMappings } from "./MetricMappings.js"
import { clearSession, loadSession, saveSession, type Session } from "./Session.js"
import { SignIn } from "./SignIn.js"
import { TestExperiments } from "./TestExperiments.js"
import type { WorkspaceContext } from "./WorkspaceContext.js"

export const App = () => {
  const [session, setSession] = useState<Session | null>(loadSession)
  const [workspace, setWorkspace] = useState<Workspace | null>(null)
  const [failure, setFailure] = useState<Failure | null>(null)
  const client = useMemo(() => session === null ? null : clientFor(session.token), [session])
  // Bumped after each change to the connection, so the lists below it reload.
  const [revision, setRevision] = useState(0)
  const changed = useCallback(() => setRevision((n) => n + 1), [])

  useEffect(() => {
    if (session === null || client === null) return
    run(client.workspaces.get({ path: { workspaceId: session.workspaceId } })).then((answer) => {
      if (answer._tag === "Right") setWorkspace(answer.right)
      else setFailure(answer.left)
    })
  }, [session, client])

  const signOut = () => {
    clearSession()
    setSession(null)
    setWorkspace(null)
    setFailure(null)
  }

  if (session === null || client === null) {
    return (
      <SignIn
        onSignedIn={(next) => {
          saveSession(next)
          setSession(next)
        }}
      />
    )
  }

  const context: WorkspaceContext | null = workspace === null
    ? null
    : { client, workspaceId: session.workspaceId, isAdmin: workspace.role === "admin", revision, changed }

  return (
    <>
      <header className="top">
        <p className="breadcrumb">Settings → Integrations → Amplitude</p>
        {workspace && (
          <p className="who">
            {workspace.name} · <span data-testid="role">{workspace.role}</span>
          </p>
        )}
        <button type="button" className="link" onClick={signOut}>Sign out</button>
      </header>
      <main>
        <h1>Integrations</h1>
        {failure && <FailureNotice failure={failure} />}
        {context && (
          <div className="layout">
            <AmplitudeTile context={context} />
            <MetricMappings context={context} />
            <TestExperiments context={context} />
            <AnnotationActivity context={context} />
            {context.isAdmin && <AuditLog key={revision} context={context} />}
          </div>
        )}
      </main>
    </>
  )
}
