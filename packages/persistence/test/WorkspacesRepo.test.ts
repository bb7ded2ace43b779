import { assert, describe, layer } from "@effect/vitest"
import { UserId } from "@findry/domain"
import { Effect, Layer, Option } from "effect"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { ADMIN, seedWorkspace, unique } from "./fixtures.js"

const MEMBER = UserId.make("member-1")

describe("WorkspacesRepo", () => {
  layer(WorkspacesRepo.Default.pipe(Layer.provideMerge(TestSqlLive())), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("makes the creator the admin, and membership is per workspace", () =>
      Effect.gen(function*() {
        const workspaces = yield* WorkspacesRepo
        const name = unique("Acme")
        const created = yield* workspaces.create(name, ADMIN)
        const other = yield* workspaces.create(unique("Other"), UserId.make("someone-else"))
        assert.deepStrictEqual(
          Option.map(yield* workspaces.membership(created.id, ADMIN), (row) => row.role),
          Option.some("admin")
        )
        assert.strictEqual(Option.getOrThrow(yield* workspaces.membership(created.id, ADMIN)).name, name)
        assert.isTrue(Option.isNone(yield* workspaces.membership(other.id, ADMIN)), "not a member of the other one")
        assert.isTrue(Option.isNone(yield* workspaces.membership(created.id, MEMBER)))
      }))

    it.effect("adds and changes a member's role without touching another workspace's members", () =>
      Effect.gen(function*() {
        const workspaces = yield* WorkspacesRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        assert.strictEqual(yield* workspaces.setRole(a.workspaceId, MEMBER, "member"), "changed")
        assert.strictEqual(yield* workspaces.setRole(b.workspaceId, MEMBER, "admin"), "changed")
        assert.strictEqual(Option.getOrThrow(yield* workspaces.membership(a.workspaceId, MEMBER)).role, "member")
        assert.strictEqual(yield* workspaces.setRole(a.workspaceId, MEMBER, "admin"), "changed")
        assert.strictEqual(Option.getOrThrow(yield* workspaces.membership(a.workspaceId, MEMBER)).role, "admin")
        assert.strictEqual(yield* workspaces.removeMember(a.workspaceId, MEMBER), "changed")
        assert.isTrue(Option.isNone(yield* workspaces.membership(a.workspaceId, MEMBER)))
        assert.strictEqual(Option.getOrThrow(yield* workspaces.membership(b.workspaceId, MEMBER)).role, "admin")
        assert.strictEqual(yield* workspaces.removeMember(a.workspaceId, MEMBER), "not_member")
      }))

    it.effect("never demotes or removes the last admin, though another workspace has admins", () =>
      Effect.gen(function*() {
        const workspaces = yield* WorkspacesRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        yield* workspaces.setRole(b.workspaceId, MEMBER, "admin")
        assert.strictEqual(yield* workspaces.setRole(a.workspaceId, ADMIN, "member"), "last_admin")
        assert.strictEqual(yield* workspaces.removeMember(a.workspaceId, ADMIN), "last_admin")
        assert.strictEqual(Option.getOrThrow(yield* workspaces.membership(a.workspaceId, ADMIN)).role, "admin")
        yield* workspaces.setRole(a.workspaceId, MEMBER, "admin")
        assert.strictEqual(yield* workspaces.setRole(a.workspaceId, ADMIN, "member"), "changed")
        assert.strictEqual(yield* workspaces.removeMember(a.workspaceId, MEMBER), "last_admin")
      }))

    it.effect("of two admins demoting each other at once, one stays admin", () =>
      Effect.gen(function*() {
        const workspaces = yield* WorkspacesRepo
        const { workspaceId } = yield* seedWorkspace
        yield* workspaces.setRole(workspaceId, MEMBER, "admin")
        const results = yield* Effect.all([
          workspaces.setRole(workspaceId, ADMIN, "member"),
          workspaces.removeMember(workspaceId, MEMBER)
        ], { concurrency: "unbounded" })
        assert.sameMembers([...results], ["changed", "last_admin"])
        const admins = [
          yield* workspaces.membership(workspaceId, ADMIN),
          yield* workspaces.membership(workspaceId, MEMBER)
        ].filter((row) => Option.isSome(row) && row.value.role === "admin")
        assert.strictEqual(admins.length, 1)
      }))

    it.effect("lists a workspace's projects in creation order, and only its own", () =>
      Effect.gen(function*() {
        const workspaces = yield* WorkspacesRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        const second = yield* workspaces.createProject(a.workspaceId, "Second")
        const third = yield* workspaces.createProject(a.workspaceId, "A third")
        const listed = yield* workspaces.listProjects(a.workspaceId)
        assert.deepStrictEqual(listed.map((project) => project.id), [a.projectId, second.id, third.id])
        assert.deepStrictEqual((yield* workspaces.listProjects(b.workspaceId)).map((project) => project.id), [
          b.projectId
        ])
      }))
  })
})
