import type { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Auth.js"
import { WorkspaceAccessError } from "./Errors.js"
import { ProjectId, WorkspaceId } from "./Ids.js"

/** The path of every endpoint under `/v1/workspaces/:workspaceId`; longer paths extend its fields. */
export const WorkspacePath = Schema.Struct({ workspaceId: WorkspaceId })

export const ProjectPath = Schema.Struct({ ...WorkspacePath.fields, projectId: ProjectId })

/**
 * Ends every group of workspace endpoints: the caller must be signed in (401 `Unauthorized`) and a member of the
 * workspace (404 `NotFound`, also when it does not exist), and an admin where the endpoint says so (403 `Forbidden`).
 */
export const withWorkspaceAccess = <Id extends string, Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any, E, R>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints, E, R>
) => group.addError(WorkspaceAccessError).middleware(Authentication)
