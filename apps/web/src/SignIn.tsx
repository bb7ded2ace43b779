import { WorkspaceId } from "@findry/domain"
import { Option, Schema } from "effect"
import { useState } from "react"
import { FailureNotice } from "./FailureNotice.js"
import { clientFor, type Failure, run } from "./FindryClient.js"
import { type Session } from "./Session.js"

/** Local sign-in: paste a bearer token (`pnpm token <userId>` prints one) and pick a workspace. */
export const SignIn = ({ onSignedIn }: { readonly onSignedIn: (session: Session) => void }) => {
  const [token, setToken] = useState("")
  const [workspaceId, setWorkspaceId] = useState("")
  const [failure, setFailure] = useState<Failure | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (event: React.FormEvent) => {
    event.preventDefault()
    const id = Schema.decodeUnknownOption(WorkspaceId)(workspaceId.trim())
    if (Option.isNone(id)) {
      setFailure({ _tag: "InvalidWorkspace", message: "The workspace ID is the UUID the API gave the workspace." })
      return
    }
    setBusy(true)
    const client = clientFor(token.trim())
    const answer = await run(client.workspaces.get({ path: { workspaceId: id.value } }))
    setBusy(false)
    if (answer._tag === "Left") return setFailure(answer.left)
    onSignedIn({ token: token.trim(), workspaceId: id.value })
  }

  return (
    <main className="sign-in">
      <h1>Sign in to Findry (local)</h1>
      <form onSubmit={submit}>
        <label htmlFor="token">Bearer token</label>
        <textarea
          id="token"
          rows={4}
          required
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" className="help">
          Print one with <code>npx -y pnpm@10.34.9 run token &lt;userId&gt;</code>. It is kept in this tab only.
        </p>
        <label htmlFor="workspace">Workspace ID</label>
        <input
          id="workspace"
          required
          autoComplete="off"
          spellCheck={false}
          value={workspaceId}
          onChange={(event) => setWorkspaceId(event.target.value)}
        />
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
      {failure && <FailureNotice failure={failure} />}
    </main>
  )
}
