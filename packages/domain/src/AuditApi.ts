import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { withWorkspaceAccess, WorkspacePath } from "./WorkspaceEndpoint.js"

export class AuditEntry extends Schema.Class<AuditEntry>("AuditEntry")({
  id: Schema.String,
  at: Schema.Date,
  actorId: Schema.String,
  action: Schema.String,
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}

export class AuditPage extends Schema.Class<AuditPage>("AuditPage")({
  entries: Schema.Array(AuditEntry),
  nextCursor: Schema.NullOr(Schema.String)
}) {}

export class AuditApi extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("list", "/v1/workspaces/:workspaceId/audit-log")
      .setPath(WorkspacePath)
      .setUrlParams(Schema.Struct({
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200))),
        cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d{1,18}$/)))
      }))
      .addSuccess(AuditPage)
  )
  .pipe(withWorkspaceAccess)
{}
