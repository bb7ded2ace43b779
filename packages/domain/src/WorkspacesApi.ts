import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { RateLimited } from "./Errors.js"
import { ProjectId, UserId, WorkspaceId } from "./Ids.js"
import { withWorkspaceAccess, WorkspacePath } from "./WorkspaceEndpoint.js"

const hasNoControlCharacters = (text: string) => !/\p{Cc}/u.test(text)

/** A trimmed, single-line name of 1 to `max` characters. */
export const DisplayText = (max: number) =>
  Schema.Trim.pipe(
    Schema.filter((text) =>
      text.length === 0
        ? "must not be empty"
        : text.length > max
        ? `must be at most ${max} characters`
        : hasNoControlCharacters(text) || "must not contain control characters"
    )
  )

export const Role = Schema.Literal("admin", "member")
export type Role = typeof Role.Type

export class Workspace extends Schema.Class<Workspace>("Workspace")({
  id: WorkspaceId,
  name: Schema.String,
  role: Role
}) {}

export class Member extends Schema.Class<Member>("Member")({
  userId: UserId,
  role: Role
}) {}

export class Project extends Schema.Class<Project>("Project")({
  id: ProjectId,
  name: Schema.String
}) {}

export class LastAdmin extends Schema.TaggedError<LastAdmin>()(
  "LastAdmin",
  {
    message: Schema.optionalWith(Schema.String, {
      default: () => "A workspace needs at least one admin: make someone else an admin first."
    })
  },
  HttpApiSchema.annotations({ status: 409 })
) {}

export const MemberPath = Schema.Struct({ ...WorkspacePath.fields, userId: UserId })

export class WorkspacesApi extends HttpApiGroup.make("workspaces")
  .add(
    HttpApiEndpoint.post("create", "/v1/workspaces")
      .setPayload(Schema.Struct({ name: DisplayText(200) }))
      .addSuccess(Workspace, { status: 201 })
      .addError(RateLimited)
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/workspaces/:workspaceId")
      .setPath(WorkspacePath)
      .addSuccess(Workspace)
  )
  .add(
    HttpApiEndpoint.put("setMember", "/v1/workspaces/:workspaceId/members/:userId")
      .setPath(MemberPath)
      .setPayload(Schema.Struct({ role: Role }))
      .addSuccess(Member)
      .addError(LastAdmin)
  )
  .add(
    HttpApiEndpoint.del("removeMember", "/v1/workspaces/:workspaceId/members/:userId")
      .setPath(MemberPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(LastAdmin)
  )
  .add(
    HttpApiEndpoint.post("createProject", "/v1/workspaces/:workspaceId/projects")
      .setPath(WorkspacePath)
      .setPayload(Schema.Struct({ name: DisplayText(200) }))
      .addSuccess(Project, { status: 201 })
  )
  .add(
    HttpApiEndpoint.get("listProjects", "/v1/workspaces/:workspaceId/projects")
      .setPath(WorkspacePath)
      .addSuccess(Schema.Struct({ projects: Schema.Array(Project) }))
  )
  .pipe(withWorkspaceAccess)
{}
