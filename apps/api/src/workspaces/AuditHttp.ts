import { HttpApiBuilder } from "@effect/platform"
import { AuditEntry, AuditPage, FindryApi } from "@findry/domain"
import { AuditLog } from "@findry/persistence"
import { Effect, Layer } from "effect"
import { WorkspaceAccess } from "../auth/WorkspaceAccess.js"

export const AuditHttpLive = HttpApiBuilder.group(FindryApi, "audit", (handlers) =>
  Effect.gen(function*() {
    const access = yield* WorkspaceAccess
    const audit = yield* AuditLog
    return handlers.handle("list", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* access.admin(path.workspaceId)
        const page = yield* audit.list(path.workspaceId, {
          limit: urlParams.limit ?? 50,
          cursor: urlParams.cursor ?? null
        })
        return new AuditPage({
          entries: page.entries.map((row) =>
            new AuditEntry({ id: row.id, at: row.at, actorId: row.actorId, action: row.action, details: row.details })
          ),
          nextCursor: page.nextCursor
        })
      }))
  })).pipe(Layer.provide([WorkspaceAccess.Default, AuditLog.Default]))
