import type { WorkspaceId } from "@findry/domain"
import type { FindryClient } from "./FindryClient.js"

/** What every section of the page needs: the client, the workspace, the caller's role. */
export interface WorkspaceContext {
  readonly client: FindryClient
  readonly workspaceId: WorkspaceId
  readonly isAdmin: boolean
  /** Changes whenever the connection changed, so sections that depend on it reload. */
  readonly revision: number
  readonly changed: () => void
}
