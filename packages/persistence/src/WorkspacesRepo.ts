import { SqlClient, SqlSchema } from "@effect/sql"
import { ProjectId, Role, UserId, WorkspaceId } from "@findry/domain"
import type { Option } from "effect"
import { Effect, Schema } from "effect"
import { randomUUID } from "node:crypto"

export class WorkspaceRow extends Schema.Class<WorkspaceRow>("WorkspaceRow")({
  id: WorkspaceId,
  name: Schema.String,
  role: Role
}) {}

export class ProjectRow extends Schema.Class<ProjectRow>("ProjectRow")({
  id: ProjectId,
  workspaceId: WorkspaceId,
  name: Schema.String
}) {}

export type MemberChange = "changed" | "not_member" | "last_admin"

export class WorkspacesRepo extends Effect.Service<WorkspacesRepo>()("@findry/persistence/WorkspacesRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const insertWorkspace = SqlSchema.void({
      Request: Schema.Struct({ id: WorkspaceId, name: Schema.String, adminId: UserId }),
      execute: ({ adminId, id, name }) =>
        sql`
          WITH created AS (INSERT INTO workspaces ${sql.insert({ id, name })} RETURNING id)
          INSERT INTO workspace_members (workspace_id, user_id, role) SELECT id, ${adminId}, 'admin' FROM created`
    })

    const findForMember = SqlSchema.findOne({
      Request: Schema.Struct({ workspaceId: WorkspaceId, userId: UserId }),
      Result: WorkspaceRow,
      execute: ({ userId, workspaceId }) =>
        sql`
          SELECT w.id, w.name, m.role FROM workspaces w
          JOIN workspace_members m ON m.workspace_id = w.id
          WHERE w.id = ${workspaceId} AND m.user_id = ${userId}`
    })

    const create = Effect.fn("WorkspacesRepo.create")(function*(name: string, adminId: UserId) {
      const id = WorkspaceId.make(randomUUID())
      yield* insertWorkspace({ id, name, adminId })
      return new WorkspaceRow({ id, name, role: "admin" })
    }, Effect.orDie)

    const membership = (workspaceId: WorkspaceId, userId: UserId): Effect.Effect<Option.Option<WorkspaceRow>> =>
      findForMember({ workspaceId, userId }).pipe(Effect.orDie, Effect.withSpan("WorkspacesRepo.membership"))

    /** Locks the workspace's admins so that two concurrent demotions cannot remove the last one. */
    const otherAdminsLocked = (workspaceId: WorkspaceId, userId: UserId) =>
      sql<{ userId: string }>`
        SELECT user_id FROM workspace_members
        WHERE workspace_id = ${workspaceId} AND role = 'admin' AND user_id <> ${userId}
        FOR UPDATE`.pipe(Effect.map((rows) => rows.length))

    const setRole = (workspaceId: WorkspaceId, userId: UserId, role: Role): Effect.Effect<MemberChange> =>
      sql.withTransaction(Effect.gen(function*() {
        if (role === "member") {
          const current = yield* sql<{ role: Role }>`
            SELECT role FROM workspace_members WHERE workspace_id = ${workspaceId} AND user_id = ${userId}`
          if (current[0]?.role === "admin" && (yield* otherAdminsLocked(workspaceId, userId)) === 0) {
            return "last_admin" as const
          }
        }
        yield* sql`
          INSERT INTO workspace_members (workspace_id, user_id, role) VALUES (${workspaceId}, ${userId}, ${role})
          ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role`
        return "changed" as const
      })).pipe(Effect.orDie, Effect.withSpan("WorkspacesRepo.setRole"))

    const removeMember = (workspaceId: WorkspaceId, userId: UserId): Effect.Effect<MemberChange> =>
      sql.withTransaction(Effect.gen(function*() {
        const current = yield* sql<{ role: Role }>`
          SELECT role FROM workspace_members WHERE workspace_id = ${workspaceId} AND user_id = ${userId} FOR UPDATE`
        if (current.length === 0) return "not_member" as const
        if (current[0]?.role === "admin" && (yield* otherAdminsLocked(workspaceId, userId)) === 0) {
          return "last_admin" as const
        }
        yield* sql`DELETE FROM workspace_members WHERE workspace_id = ${workspaceId} AND user_id = ${userId}`
        return "changed" as const
      })).pipe(Effect.orDie, Effect.withSpan("WorkspacesRepo.removeMember"))

    const createProject = Effect.fn("WorkspacesRepo.createProject")(function*(workspaceId: WorkspaceId, name: string) {
      const id = ProjectId.make(randomUUID())
      yield* sql`INSERT INTO projects ${sql.insert({ id, workspaceId, name })}`
      return new ProjectRow({ id, workspaceId, name })
    }, Effect.orDie)

    const listProjects = SqlSchema.findAll({
      Request: WorkspaceId,
      Result: ProjectRow,
      execute: (workspaceId) =>
        sql`SELECT id, workspace_id, name FROM projects WHERE workspace_id = ${workspaceId} ORDER BY created_seq`
    })

    return {
      create,
      membership,
      setRole,
      removeMember,
      createProject,
      listProjects: (workspaceId: WorkspaceId): Effect.Effect<ReadonlyArray<ProjectRow>> =>
        listProjects(workspaceId).pipe(Effect.orDie, Effect.withSpan("WorkspacesRepo.listProjects"))
    } as const
  })
}) {}
