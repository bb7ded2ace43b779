import { CurrentUser, Forbidden, NotFound, type Role, type WorkspaceId } from "@findry/domain"
import { type WorkspaceRow, WorkspacesRepo } from "@findry/persistence"
import { Effect, Option } from "effect"

/**
 * @effect-expect-leaking CurrentUser
 * Resolves the caller's membership of a workspace. Outsiders get `NotFound` (the workspace's existence is not
 * revealed); members asking for an admin action get `Forbidden`.
 */
export class WorkspaceAccess extends Effect.Service<WorkspaceAccess>()("@findry/api/WorkspaceAccess", {
  effect: Effect.gen(function*() {
    const workspaces = yield* WorkspacesRepo

    const require = (
      workspaceId: WorkspaceId,
      role: Role
    ): Effect.Effect<WorkspaceRow & { readonly actorId: string }, NotFound | Forbidden, CurrentUser> =>
      Effect.gen(function*() {
        const { userId } = yield* CurrentUser
        const membership = yield* workspaces.membership(workspaceId, userId)
        if (Option.isNone(membership)) return yield* new NotFound()
        if (role === "admin" && membership.value.role !== "admin") return yield* new Forbidden()
        return Object.assign(membership.value, { actorId: userId as string })
      })

    return {
      member: (workspaceId: WorkspaceId) => require(workspaceId, "member"),
      admin: (workspaceId: WorkspaceId) => require(workspaceId, "admin")
    } as const
  }),
  dependencies: [WorkspacesRepo.Default]
}) {}
