import { HttpApiBuilder } from "@effect/platform"
import { CurrentUser, FindryApi, LastAdmin, Member, NotFound, Project, Workspace } from "@findry/domain"
import { AuditLog, WorkspacesRepo } from "@findry/persistence"
import { Effect, Layer } from "effect"
import { ConnectionViewCache } from "../amplitude-connection/ConnectionViewCache.js"
import { WorkspaceAccess } from "../auth/WorkspaceAccess.js"
import { UsageLimits } from "../limits/UsageLimits.js"

export const WorkspacesHttpLive = HttpApiBuilder.group(FindryApi, "workspaces", (handlers) =>
  Effect.gen(function*() {
    const workspaces = yield* WorkspacesRepo
    const access = yield* WorkspaceAccess
    const audit = yield* AuditLog
    const connectionViews = yield* ConnectionViewCache
    const limits = yield* UsageLimits

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const { userId } = yield* CurrentUser
          yield* limits.workspaceCreation(userId)
          const created = yield* workspaces.create(payload.name, userId)
          return new Workspace(created)
        }))
      .handle("get", ({ path }) => access.member(path.workspaceId).pipe(Effect.map((row) => new Workspace(row))))
      .handle("setMember", ({ path, payload }) =>
        Effect.gen(function*() {
          const admin = yield* access.admin(path.workspaceId)
          const outcome = yield* workspaces.setRole(path.workspaceId, path.userId, payload.role)
          if (outcome === "last_admin") return yield* new LastAdmin()
          yield* audit.record({
            workspaceId: path.workspaceId,
            actorId: admin.actorId,
            action: "member.role_set",
            details: { userId: path.userId, role: payload.role }
          })
          return new Member({ userId: path.userId, role: payload.role })
        }).pipe(Effect.ensuring(connectionViews.invalidate(path.workspaceId))))
      .handle("removeMember", ({ path }) =>
        Effect.gen(function*() {
          const admin = yield* access.admin(path.workspaceId)
          const outcome = yield* workspaces.removeMember(path.workspaceId, path.userId)
          if (outcome === "not_member") return yield* new NotFound()
          if (outcome === "last_admin") return yield* new LastAdmin()
          yield* audit.record({
            workspaceId: path.workspaceId,
            actorId: admin.actorId,
            action: "member.removed",
            details: { userId: path.userId }
          })
        }).pipe(Effect.ensuring(connectionViews.invalidate(path.workspaceId))))
      .handle("createProject", ({ path, payload }) =>
        Effect.gen(function*() {
          yield* access.admin(path.workspaceId)
          const project = yield* workspaces.createProject(path.workspaceId, payload.name)
          return new Project({ id: project.id, name: project.name })
        }))
      .handle("listProjects", ({ path }) =>
        Effect.gen(function*() {
          yield* access.member(path.workspaceId)
          const projects = yield* workspaces.listProjects(path.workspaceId)
          return { projects: projects.map((project) => new Project({ id: project.id, name: project.name })) }
        }))
  })).pipe(Layer.provide([WorkspacesRepo.Default, WorkspaceAccess.Default, AuditLog.Default, UsageLimits.Default]))
